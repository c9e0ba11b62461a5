using System.Text.Json.Nodes;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Costs;
using DevOrchestrator.Features.Events;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace DevOrchestrator.IntegrationTests.Costs;

/// <summary>
/// The budget's book-keeping against the real databases: concurrent reservations race on the same rows for real
/// (many threads, many connections), and the counters are read back from the tables.
/// </summary>
public sealed class CostLedgerTests
{
    private static readonly ModelCallScope s_noTask = new(null, null, null, null, "development");

    private static readonly TokenUsage s_usage = new(1000, 200, 0, 0);

    private static Task<ServiceUnderTest> StartAsync(Db db, CancellationToken cancellationToken, params (string Key, string Value)[] settings) =>
        ServiceUnderTest.StartAsync(db, settings: settings.ToDictionary(s => s.Key, s => (string?)s.Value), cancellationToken: cancellationToken);

    private static string ThisMonth => CostLedger.MonthOf(DateTimeOffset.UtcNow);

    private static async Task<BudgetMonth> MonthAsync(ServiceUnderTest service, CancellationToken cancellationToken)
    {
        await using var db = service.State.OpenDb();
        return await db.BudgetMonths.AsNoTracking().SingleAsync(b => b.Month == ThisMonth, cancellationToken);
    }

    private static async Task<DevTask> TaskAsync(ServiceUnderTest service, long id, CancellationToken cancellationToken)
    {
        await using var db = service.State.OpenDb();
        return await db.Tasks.AsNoTracking().SingleAsync(t => t.Id == id, cancellationToken);
    }

    private static async Task<List<CostReservation>> ReservationsAsync(ServiceUnderTest service, CancellationToken cancellationToken)
    {
        await using var db = service.State.OpenDb();
        return await db.CostReservations.AsNoTracking().ToListAsync(cancellationToken);
    }

    private static async Task<List<JsonNode>> AlertsAsync(ServiceUnderTest service, CancellationToken cancellationToken)
    {
        await using var db = service.State.OpenDb();
        var payloads = await db.Events.AsNoTracking().Where(e => e.Type == EventTypes.SystemAlert).OrderBy(e => e.Id).Select(e => e.Payload).ToListAsync(cancellationToken);
        return payloads.Select(p => JsonNode.Parse(p)!).ToList();
    }

    /// <summary>A project and a task in it, inserted directly; returns the scope of the task's development calls.</summary>
    private static async Task<ModelCallScope> CreateTaskAsync(ServiceUnderTest service, CancellationToken cancellationToken)
    {
        await using var db = service.State.OpenDb();
        var now = DateTimeOffset.UtcNow;
        var project = new Project { Name = "budget-" + Guid.NewGuid().ToString("N")[..8], CreatedAt = now, UpdatedAt = now };
        db.Projects.Add(project);
        await db.SaveChangesAsync(cancellationToken);
        var task = new DevTask { Title = "spend some money", ProjectId = project.Id, CreatedAt = now, UpdatedAt = now };
        db.Tasks.Add(task);
        await db.SaveChangesAsync(cancellationToken);
        return new ModelCallScope(task.Id, project.Id, null, null, "development");
    }

    /// <summary>
    /// Runs <paramref name="count"/> reservations on thread-pool threads released together, each in its own scope on
    /// its own connection, so that their transactions overlap; returns what each got.
    /// </summary>
    private static async Task<(List<CostReservation> Held, List<BudgetExceededException> Refused)> ReserveConcurrentlyAsync(
        CostLedger ledger, ModelCallScope scope, int count, long micros, CancellationToken cancellationToken)
    {
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = Enumerable.Range(0, count).Select(_ => Task.Run(async () =>
        {
            await start.Task.WaitAsync(cancellationToken);
            try
            {
                return (Held: await ledger.ReserveAsync(scope, micros, cancellationToken), Refused: (BudgetExceededException?)null);
            }
            catch (BudgetExceededException ex)
            {
                return (Held: (CostReservation?)null, Refused: ex);
            }
        }, cancellationToken)).ToList();
        await Task.Delay(50, cancellationToken);
        start.SetResult();
        var results = await Task.WhenAll(calls);
        return (results.Where(r => r.Held is not null).Select(r => r.Held!).ToList(), results.Where(r => r.Refused is not null).Select(r => r.Refused!).ToList());
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Fifty_concurrent_reservations_hold_exactly_what_the_monthly_budget_allows(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await StartAsync(db, ct, ("MONTHLY_BUDGET_LIMIT", "0.25"));
        var ledger = service.Services.GetRequiredService<CostLedger>();

        // While the race runs, the month's row is watched: spent + reserved never goes above the limit.
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var highest = 0L;
        var watcher = Task.Run(async () =>
        {
            await using var watch = service.State.OpenDb();
            while (!watching.IsCancellationRequested)
            {
                var row = await watch.BudgetMonths.AsNoTracking().Where(b => b.Month == ThisMonth).Select(b => new { b.SpentMicros, b.ReservedMicros }).SingleOrDefaultAsync(CancellationToken.None);
                highest = Math.Max(highest, row is null ? 0 : row.SpentMicros + row.ReservedMicros);
                await Task.Delay(2, CancellationToken.None);
            }
        }, CancellationToken.None);

        var (held, refused) = await ReserveConcurrentlyAsync(ledger, s_noTask, 50, 10_000, ct);
        await watching.CancelAsync();
        await watcher;

        Assert.Equal(25, held.Count);
        Assert.Equal(25, refused.Count);
        Assert.All(refused, ex =>
        {
            Assert.Equal("monthly", ex.Budget);
            Assert.Equal(0.25m, ex.LimitUsd);
            Assert.Contains("MONTHLY_BUDGET_LIMIT", ex.Message, StringComparison.Ordinal);
        });
        Assert.Equal(25, held.Select(r => r.Id).Distinct().Count());
        var month = await MonthAsync(service, ct);
        Assert.Equal(250_000, month.ReservedMicros);
        Assert.Equal(0, month.SpentMicros);
        Assert.Equal(held.Sum(r => r.Micros), month.ReservedMicros);
        Assert.InRange(highest, 0, 250_000);
        var rows = await ReservationsAsync(service, ct);
        Assert.Equal(held.Select(r => r.Id).Order(), rows.Select(r => r.Id).Order());
        Assert.All(rows, r => Assert.Equal(10_000, r.Micros));

        // The refusals raised the month's 100% alert, once however many raced.
        var alert = Assert.Single(await AlertsAsync(service, ct));
        Assert.Equal(100, (int)alert["threshold_percent"]!);

        // Ten calls cost less than they held; fifteen failed and give everything back, all at once.
        var settles = held.Take(10).Select(r => Task.Run(() => ledger.SettleAsync(r, s_noTask, "anthropic", "claude-sonnet-4-5", s_usage, 0.004m, TimeSpan.FromMilliseconds(120)), ct));
        var releases = held.Skip(10).Select(r => Task.Run(() => ledger.ReleaseAsync(r), ct));
        await Task.WhenAll(settles.Concat(releases));

        month = await MonthAsync(service, ct);
        Assert.Equal(40_000, month.SpentMicros);
        Assert.Equal(0, month.ReservedMicros);
        Assert.Empty(await ReservationsAsync(service, ct));
        await using (var d = service.State.OpenDb())
        {
            var entries = await d.CostEntries.AsNoTracking().ToListAsync(ct);
            Assert.Equal(10, entries.Count);
            Assert.All(entries, e => Assert.Equal((0.004m, 1000L, 200L, "claude-sonnet-4-5"), (e.Usd, e.InputTokens, e.OutputTokens, e.Model)));
        }

        // A second wave can use what was released: $0.21 is left, so 21 of 50 get through.
        var (second, secondRefused) = await ReserveConcurrentlyAsync(ledger, s_noTask, 50, 10_000, ct);

        Assert.Equal(21, second.Count);
        Assert.Equal(29, secondRefused.Count);
        month = await MonthAsync(service, ct);
        Assert.Equal((40_000L, 210_000L), (month.SpentMicros, month.ReservedMicros));

        // Giving a reservation back twice gives it back once.
        await Task.WhenAll(second.Select(r => Task.Run(() => ledger.ReleaseAsync(r), ct)));
        await ledger.ReleaseAsync(second[0]);
        month = await MonthAsync(service, ct);
        Assert.Equal((40_000L, 0L), (month.SpentMicros, month.ReservedMicros));
        Assert.Empty(await ReservationsAsync(service, ct));
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task A_reservation_beyond_the_task_limit_is_refused_and_the_months_hold_rolled_back(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await StartAsync(db, ct, ("MONTHLY_BUDGET_LIMIT", "100"), ("PER_TASK_COST_LIMIT", "0.05"));
        var ledger = service.Services.GetRequiredService<CostLedger>();
        var task = await CreateTaskAsync(service, ct);
        var other = await CreateTaskAsync(service, ct);

        var first = await ledger.ReserveAsync(task, 20_000, ct);
        var second = await ledger.ReserveAsync(task, 20_000, ct);
        var refused = await Assert.ThrowsAsync<BudgetExceededException>(() => ledger.ReserveAsync(task, 20_000, ct));

        Assert.Equal("task", refused.Budget);
        Assert.Equal(0.05m, refused.LimitUsd);
        Assert.Contains("PER_TASK_COST_LIMIT", refused.Message, StringComparison.Ordinal);
        Assert.Equal(40_000, (await MonthAsync(service, ct)).ReservedMicros);
        Assert.Equal(40_000, (await TaskAsync(service, task.TaskId!.Value, ct)).CostReservedMicros);
        Assert.Equal(2, (await ReservationsAsync(service, ct)).Count);

        // Up to the limit exactly is allowed; one micro-dollar more is not.
        var last = await ledger.ReserveAsync(task, 10_000, ct);
        await Assert.ThrowsAsync<BudgetExceededException>(() => ledger.ReserveAsync(task, 1, ct));
        Assert.Equal(50_000, (await MonthAsync(service, ct)).ReservedMicros);

        // Another task has its own limit.
        var others = await ledger.ReserveAsync(other, 50_000, ct);
        Assert.Equal(100_000, (await MonthAsync(service, ct)).ReservedMicros);

        // Settling for less than was held makes room again; the task's spending counts against its limit.
        await ledger.SettleAsync(first, task, "openai", "gpt-4.1", s_usage, 0.005m, TimeSpan.FromMilliseconds(80));
        var row = await TaskAsync(service, task.TaskId!.Value, ct);
        Assert.Equal((5_000L, 30_000L), (row.CostMicros, row.CostReservedMicros));
        var refill = await ledger.ReserveAsync(task, 15_000, ct);
        var again = await Assert.ThrowsAsync<BudgetExceededException>(() => ledger.ReserveAsync(task, 1, ct));
        Assert.Equal(0.005m, again.SpentUsd);

        foreach (var r in new[] { second, last, others, refill })
        {
            await ledger.ReleaseAsync(r);
        }

        var month = await MonthAsync(service, ct);
        Assert.Equal((5_000L, 0L), (month.SpentMicros, month.ReservedMicros));
        row = await TaskAsync(service, task.TaskId!.Value, ct);
        Assert.Equal((5_000L, 0L), (row.CostMicros, row.CostReservedMicros));
        Assert.Empty(await ReservationsAsync(service, ct));
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Concurrent_reservations_of_one_task_never_overshoot_its_limit(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await StartAsync(db, ct, ("MONTHLY_BUDGET_LIMIT", "100"), ("PER_TASK_COST_LIMIT", "0.05"));
        var ledger = service.Services.GetRequiredService<CostLedger>();
        var task = await CreateTaskAsync(service, ct);

        var (held, refused) = await ReserveConcurrentlyAsync(ledger, task, 30, 10_000, ct);

        Assert.Equal(5, held.Count);
        Assert.Equal(25, refused.Count);
        Assert.All(refused, ex => Assert.Equal("task", ex.Budget));
        Assert.Equal(50_000, (await TaskAsync(service, task.TaskId!.Value, ct)).CostReservedMicros);
        Assert.Equal(50_000, (await MonthAsync(service, ct)).ReservedMicros);
        Assert.Equal(5, (await ReservationsAsync(service, ct)).Count);

        // The task's limit raises no monthly alert.
        Assert.Empty(await AlertsAsync(service, ct));
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task With_cost_tracking_off_reservations_beyond_the_limits_are_made_and_recorded(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await StartAsync(db, ct, ("COST_TRACKING_ENABLED", "false"), ("MONTHLY_BUDGET_LIMIT", "0.01"), ("PER_TASK_COST_LIMIT", "0.01"));
        var ledger = service.Services.GetRequiredService<CostLedger>();
        var task = await CreateTaskAsync(service, ct);
        Assert.False(ledger.Enforcing);

        var big = await ledger.ReserveAsync(task, 1_000_000, ct);
        var bigger = await ledger.ReserveAsync(task, 2_000_000, ct);
        var untasked = await ledger.ReserveAsync(s_noTask, 3_000_000, ct);

        Assert.Equal(6_000_000, (await MonthAsync(service, ct)).ReservedMicros);
        Assert.Equal(3_000_000, (await TaskAsync(service, task.TaskId!.Value, ct)).CostReservedMicros);
        Assert.Equal(3, (await ReservationsAsync(service, ct)).Count);

        var entry = await ledger.SettleAsync(big, task, "anthropic", "claude-opus-4-5", new TokenUsage(40_000, 12_000, 0, 0), 0.5m, TimeSpan.FromSeconds(3));
        await ledger.SettleAsync(untasked, s_noTask, "anthropic", "claude-opus-4-5", s_usage, 0.25m, TimeSpan.FromSeconds(1));
        await ledger.ReleaseAsync(bigger);

        var month = await MonthAsync(service, ct);
        Assert.Equal((750_000L, 0L), (month.SpentMicros, month.ReservedMicros));
        var row = await TaskAsync(service, task.TaskId!.Value, ct);
        Assert.Equal((500_000L, 0L), (row.CostMicros, row.CostReservedMicros));
        await using var d = service.State.OpenDb();
        var stored = await d.CostEntries.AsNoTracking().SingleAsync(e => e.Id == entry.Id, ct);
        Assert.Equal((0.5m, 40_000L, 12_000L, task.TaskId, task.ProjectId, "claude-opus-4-5", 3000L),
            (stored.Usd, stored.InputTokens, stored.OutputTokens, stored.TaskId, stored.ProjectId, stored.Model, stored.LatencyMs));
        Assert.Equal(2, await d.CostEntries.CountAsync(ct));
        Assert.Empty(await ReservationsAsync(service, ct));
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Expired_reservations_are_released_exactly_once(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await StartAsync(db, ct, ("MONTHLY_BUDGET_LIMIT", "10"), ("PER_TASK_COST_LIMIT", "1"));

        // The host's ledger on a clock of our own (the host's sweeper, on the real clock, sees nothing expired).
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var ledger = new CostLedger(
            service.Services.GetRequiredService<IDbContextFactory<AppDbContext>>(),
            service.Services.GetRequiredService<IOptions<BudgetOptions>>(),
            service.Services.GetRequiredService<EventPublisher>(),
            clock,
            NullLogger<CostLedger>.Instance);
        var task = await CreateTaskAsync(service, ct);

        var dead = await ledger.ReserveAsync(task, 300_000, ct);
        var slow = await ledger.ReserveAsync(task, 200_000, ct);
        var untasked = await ledger.ReserveAsync(s_noTask, 100_000, ct);
        Assert.Equal(clock.GetUtcNow() + ledger.ReservationLifetime, dead.ExpiresAt);

        clock.Advance(ledger.ReservationLifetime - TimeSpan.FromSeconds(1));
        Assert.Equal(0, await ledger.ReleaseExpiredAsync(ct));
        Assert.Equal(600_000, (await MonthAsync(service, ct)).ReservedMicros);

        // A later call's reservation is not expired when the first ones are.
        clock.Advance(TimeSpan.FromSeconds(1));
        var fresh = await ledger.ReserveAsync(task, 50_000, ct);
        clock.Advance(TimeSpan.FromSeconds(1));

        // Two sweepers (two replicas) at once: each reservation goes back once between them.
        var sweeps = await Task.WhenAll(Task.Run(() => ledger.ReleaseExpiredAsync(ct), ct), Task.Run(() => ledger.ReleaseExpiredAsync(ct), ct));

        Assert.Equal(3, sweeps.Sum());
        Assert.Equal(0, await ledger.ReleaseExpiredAsync(ct));
        Assert.Equal(50_000, (await MonthAsync(service, ct)).ReservedMicros);
        Assert.Equal(50_000, (await TaskAsync(service, task.TaskId!.Value, ct)).CostReservedMicros);
        Assert.Equal([fresh.Id], (await ReservationsAsync(service, ct)).Select(r => r.Id));

        // The slow call was alive after all: it settles its real cost without giving back its hold a second time.
        await ledger.SettleAsync(slow, task, "anthropic", "claude-sonnet-4-5", s_usage, 0.12m, TimeSpan.FromMinutes(70));
        await ledger.ReleaseAsync(dead);

        var month = await MonthAsync(service, ct);
        Assert.Equal((120_000L, 50_000L), (month.SpentMicros, month.ReservedMicros));
        var row = await TaskAsync(service, task.TaskId!.Value, ct);
        Assert.Equal((120_000L, 50_000L), (row.CostMicros, row.CostReservedMicros));

        await ledger.ReleaseAsync(fresh);
        month = await MonthAsync(service, ct);
        Assert.Equal((120_000L, 0L), (month.SpentMicros, month.ReservedMicros));
        Assert.Empty(await ReservationsAsync(service, ct));
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Settling_past_80_and_100_percent_of_the_month_alerts_once_each(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await StartAsync(db, ct, ("MONTHLY_BUDGET_LIMIT", "1"));
        var ledger = service.Services.GetRequiredService<CostLedger>();

        async Task SpendAsync(decimal usd)
        {
            var reservation = await ledger.ReserveAsync(s_noTask, Money.ToMicros(usd), ct);
            await ledger.SettleAsync(reservation, s_noTask, "openai", "gpt-4.1", s_usage, usd, TimeSpan.FromMilliseconds(50));
        }

        for (var i = 0; i < 7; i++)
        {
            await SpendAsync(0.1m);
        }

        await SpendAsync(0.09m);
        Assert.Empty(await AlertsAsync(service, ct));

        // $0.80 of $1: the 80% alert.
        await SpendAsync(0.01m);
        var alert = Assert.Single(await AlertsAsync(service, ct));
        Assert.Equal(80, (int)alert["threshold_percent"]!);
        Assert.Equal("warning", (string?)alert["level"]);
        Assert.Equal("monthly_budget", (string?)alert["kind"]);
        Assert.Equal(ThisMonth, (string?)alert["month"]);
        Assert.Equal(0.8m, (decimal)alert["spent_usd"]!);
        Assert.Equal(1m, (decimal)alert["monthly_budget_usd"]!);

        await SpendAsync(0.1m);
        await SpendAsync(0.09m);
        Assert.Single(await AlertsAsync(service, ct));

        // $1.00 of $1: the 100% alert, once.
        await SpendAsync(0.01m);
        var alerts = await AlertsAsync(service, ct);
        Assert.Equal([80, 100], alerts.Select(a => (int)a["threshold_percent"]!));
        Assert.Equal("critical", (string?)alerts[1]["level"]);
        Assert.Equal(1m, (decimal)alerts[1]["spent_usd"]!);

        // Spending on (a call that cost more than its hold) raises nothing new.
        var reservation = await ledger.ReserveAsync(s_noTask, 0, ct);
        await ledger.SettleAsync(reservation, s_noTask, "openai", "gpt-4.1", s_usage, 0.05m, TimeSpan.FromMilliseconds(50));
        Assert.Equal(2, (await AlertsAsync(service, ct)).Count);
        var month = await MonthAsync(service, ct);
        Assert.True(month.Alerted80 && month.Alerted100);
        Assert.Equal(1_050_000, month.SpentMicros);
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Racing_settles_across_both_thresholds_alert_once_each(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await StartAsync(db, ct, ("MONTHLY_BUDGET_LIMIT", "1"));
        var ledger = service.Services.GetRequiredService<CostLedger>();

        // Twenty calls hold the whole budget, then all settle at once: every one of the last few crosses a threshold.
        var (held, refused) = await ReserveConcurrentlyAsync(ledger, s_noTask, 20, 50_000, ct);
        Assert.Equal(20, held.Count);
        Assert.Empty(refused);

        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var settles = held.Select(r => Task.Run(async () =>
        {
            await start.Task.WaitAsync(ct);
            return await ledger.SettleAsync(r, s_noTask, "anthropic", "claude-haiku-4-5", s_usage, 0.05m, TimeSpan.FromMilliseconds(30));
        }, ct)).ToList();
        await Task.Delay(50, ct);
        start.SetResult();
        await Task.WhenAll(settles);

        var alerts = await AlertsAsync(service, ct);
        Assert.Equal([80, 100], alerts.Select(a => (int)a["threshold_percent"]!).Order());
        var month = await MonthAsync(service, ct);
        Assert.Equal((1_000_000L, 0L), (month.SpentMicros, month.ReservedMicros));
        Assert.True(month.Alerted80 && month.Alerted100);
        await using var d = service.State.OpenDb();
        Assert.Equal(20, await d.CostEntries.CountAsync(ct));
    }
}
