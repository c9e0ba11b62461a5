using System.Globalization;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Events;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Costs;

/// <summary>
/// The budget's book-keeping. Before a call, <see cref="ReserveAsync"/> holds its worst-case cost against the month
/// (<c>MONTHLY_BUDGET_LIMIT</c>) and the task (<c>PER_TASK_COST_LIMIT</c>) with one conditional <c>UPDATE</c> per
/// counter in one transaction: the database serializes concurrent reservations on the same row, so workers and replicas
/// together can never hold more than the limit. After the call, <see cref="SettleAsync"/> writes the ledger row, moves
/// the real cost from reserved to spent and releases the rest; a failed call releases everything. A reservation whose
/// worker died is released by <see cref="ReleaseExpiredAsync"/> once it expires. Money is counted in integer
/// micro-dollars so that both databases add exactly.
/// </summary>
public sealed partial class CostLedger(
    IDbContextFactory<AppDbContext> dbContexts,
    IOptions<BudgetOptions> options,
    EventPublisher events,
    TimeProvider timeProvider,
    ILogger<CostLedger> logger)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _knownMonths = new(StringComparer.Ordinal);
    private readonly BudgetOptions _budget = options.Value;

    /// <summary>How long a reservation lives without its call ending: beyond every timeout and retry of one call.</summary>
    public TimeSpan ReservationLifetime => _budget.ReservationLifetime;

    public bool Enforcing => _budget.CostTrackingEnabled;

    public long MonthlyLimitMicros => Money.ToMicros(_budget.MonthlyBudgetUsd);

    public long TaskLimitMicros => Money.ToMicros(_budget.PerTaskLimitUsd);

    public static string MonthOf(DateTimeOffset instant) => instant.UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture);

    /// <summary>Holds <paramref name="micros"/> against the month and the task, or throws <see cref="BudgetExceededException"/>.</summary>
    public async Task<CostReservation> ReserveAsync(ModelCallScope scope, long micros, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var month = MonthOf(now);
        var enforce = Enforcing;
        var monthlyLimit = MonthlyLimitMicros;
        var taskLimit = TaskLimitMicros;
        await using var db = dbContexts.CreateDbContext();
        var reservation = new CostReservation { TaskId = scope.TaskId, Month = month, Micros = micros, CreatedAt = now, ExpiresAt = now + ReservationLifetime };

        // The month's row is the one every call contends for: create it outside the transaction (once per process and
        // month), and lock it last, right before the commit, so that it is held for one round trip.
        if (!_knownMonths.ContainsKey(month))
        {
            await EnsureMonthAsync(db, month, cancellationToken);
            _knownMonths[month] = true;
        }

        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            db.CostReservations.Add(reservation);
            await db.SaveChangesAsync(cancellationToken);
            if (scope.TaskId is { } taskId)
            {
                var taskHeld = await db.Database.ExecuteSqlAsync(
                    $"UPDATE tasks SET cost_reserved_micros = cost_reserved_micros + {micros} WHERE id = {taskId} AND ({!enforce} OR cost_micros + cost_reserved_micros + {micros} <= {taskLimit})",
                    cancellationToken);
                if (taskHeld != 1)
                {
                    await transaction.RollbackAsync(cancellationToken);
                    var spent = await db.Tasks.AsNoTracking().Where(t => t.Id == taskId).Select(t => (long?)t.CostMicros).SingleOrDefaultAsync(cancellationToken) ?? 0;
                    throw new BudgetExceededException(
                        $"the task's budget would be exceeded: ${Money.ToUsd(spent):0.######} spent of ${_budget.PerTaskLimitUsd} (PER_TASK_COST_LIMIT); the next call could cost up to ${Money.ToUsd(micros):0.######}",
                        "task", _budget.PerTaskLimitUsd, Money.ToUsd(spent));
                }
            }

            var held = await db.Database.ExecuteSqlAsync(
                $"UPDATE budget_months SET reserved_micros = reserved_micros + {micros} WHERE month = {month} AND ({!enforce} OR spent_micros + reserved_micros + {micros} <= {monthlyLimit})",
                cancellationToken);
            if (held != 1)
            {
                await transaction.RollbackAsync(cancellationToken);
                var current = await db.BudgetMonths.AsNoTracking().SingleOrDefaultAsync(b => b.Month == month, cancellationToken) ?? new BudgetMonth { Month = month };
                await AlertAsync(db, scope.TaskId, month, 100, current.SpentMicros, monthlyLimit, "a call was refused: the monthly budget would be exceeded", cancellationToken);
                throw new BudgetExceededException(
                    $"the monthly budget would be exceeded: ${Money.ToUsd(current.SpentMicros):0.######} spent and ${Money.ToUsd(current.ReservedMicros):0.######} held by calls in flight of ${_budget.MonthlyBudgetUsd} (MONTHLY_BUDGET_LIMIT); this call could cost up to ${Money.ToUsd(micros):0.######}",
                    "monthly", _budget.MonthlyBudgetUsd, Money.ToUsd(current.SpentMicros));
            }

            await transaction.CommitAsync(cancellationToken);
        }

        return reservation;
    }

    /// <summary>Records a finished call and turns its reservation into the real cost.</summary>
    public async Task<CostEntry> SettleAsync(CostReservation reservation, ModelCallScope scope, string provider, string model, TokenUsage usage, decimal usd, TimeSpan latency)
    {
        // The call happened and was paid: record it even if the caller is being cancelled.
        var ct = CancellationToken.None;
        var micros = Money.ToMicros(usd);
        await using var db = dbContexts.CreateDbContext();
        var entry = new CostEntry
        {
            TaskId = scope.TaskId,
            ProjectId = scope.ProjectId,
            UserId = scope.UserId,
            AgentExecutionId = scope.AgentExecutionId,
            AgentRole = scope.AgentRole,
            Provider = provider,
            Model = model,
            InputTokens = usage.Input,
            OutputTokens = usage.Output,
            CacheWriteTokens = usage.CacheWrite,
            CacheReadTokens = usage.CacheRead,
            Usd = usd,
            LatencyMs = (long)latency.TotalMilliseconds,
            CreatedAt = timeProvider.GetUtcNow(),
        };

        await using (var transaction = await db.Database.BeginTransactionAsync(ct))
        {
            var released = await ReleaseRowAsync(db, reservation, ct) ? reservation.Micros : 0;
            db.CostEntries.Add(entry);
            await db.SaveChangesAsync(ct);
            if (scope.TaskId is { } taskId)
            {
                await db.Database.ExecuteSqlAsync(
                    $"UPDATE tasks SET cost_micros = cost_micros + {micros}, cost_reserved_micros = cost_reserved_micros - {released} WHERE id = {taskId}", ct);
            }

            if (scope.AgentExecutionId is { } agentId)
            {
                await db.Database.ExecuteSqlAsync($"UPDATE agent_executions SET cost_micros = cost_micros + {micros} WHERE id = {agentId}", ct);
            }

            // The contended row last (same order as reservations: task, then month).
            await db.Database.ExecuteSqlAsync(
                $"UPDATE budget_months SET spent_micros = spent_micros + {micros}, reserved_micros = reserved_micros - {released} WHERE month = {reservation.Month}", ct);
            await transaction.CommitAsync(ct);
        }

        // Alerts after the commit: each flag flips once, whoever gets there first.
        var limit = MonthlyLimitMicros;
        var spentNow = await db.BudgetMonths.AsNoTracking().Where(b => b.Month == reservation.Month).Select(b => b.SpentMicros).SingleAsync(ct);
        if (limit > 0 && spentNow * 5 >= limit * 4)
        {
            await AlertAsync(db, scope.TaskId, reservation.Month, 80, spentNow, limit, "80% of the monthly budget is spent", ct);
        }

        if (limit > 0 && spentNow >= limit)
        {
            await AlertAsync(db, scope.TaskId, reservation.Month, 100, spentNow, limit, "the monthly budget is spent", ct);
        }

        return entry;
    }

    /// <summary>Gives a reservation back (the call failed or was not made).</summary>
    public async Task ReleaseAsync(CostReservation reservation)
    {
        var ct = CancellationToken.None;
        await using var db = dbContexts.CreateDbContext();
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        if (await ReleaseRowAsync(db, reservation, ct))
        {
            await GiveBackAsync(db, reservation, ct);
        }

        await transaction.CommitAsync(ct);
    }

    /// <summary>Releases reservations whose calls outlived any timeout: their workers died. Returns how many.</summary>
    public async Task<int> ReleaseExpiredAsync(CancellationToken cancellationToken)
    {
        await using var db = dbContexts.CreateDbContext();
        var now = timeProvider.GetUtcNow();
        var expired = await db.CostReservations.AsNoTracking().Where(r => r.ExpiresAt < now).OrderBy(r => r.Id).Take(500).ToListAsync(cancellationToken);
        var released = 0;
        foreach (var reservation in expired)
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            if (await ReleaseRowAsync(db, reservation, cancellationToken))
            {
                await GiveBackAsync(db, reservation, cancellationToken);
                released++;
            }

            await transaction.CommitAsync(cancellationToken);
        }

        if (released > 0)
        {
            LogReleasedExpired(logger, released);
        }

        return released;
    }

    /// <summary>Deletes the reservation row; false when someone else (the sweeper, a settle) already did.</summary>
    private static async Task<bool> ReleaseRowAsync(AppDbContext db, CostReservation reservation, CancellationToken cancellationToken) =>
        await db.Database.ExecuteSqlAsync($"DELETE FROM cost_reservations WHERE id = {reservation.Id}", cancellationToken) == 1;

    private static async Task GiveBackAsync(AppDbContext db, CostReservation reservation, CancellationToken cancellationToken)
    {
        if (reservation.TaskId is { } taskId)
        {
            await db.Database.ExecuteSqlAsync(
                $"UPDATE tasks SET cost_reserved_micros = cost_reserved_micros - {reservation.Micros} WHERE id = {taskId}", cancellationToken);
        }

        await db.Database.ExecuteSqlAsync(
            $"UPDATE budget_months SET reserved_micros = reserved_micros - {reservation.Micros} WHERE month = {reservation.Month}", cancellationToken);
    }

    private static Task<int> EnsureMonthAsync(AppDbContext db, string month, CancellationToken cancellationToken) =>
        db.Database.ExecuteSqlAsync(
            $"INSERT INTO budget_months (month, spent_micros, reserved_micros, alerted80, alerted100) VALUES ({month}, 0, 0, {false}, {false}) ON CONFLICT (month) DO NOTHING",
            cancellationToken);

    /// <summary>Raises the month's alert at <paramref name="percent"/> once: the flag flips in the same statement that decides.</summary>
    private async Task AlertAsync(AppDbContext db, long? taskId, string month, int percent, long spentMicros, long limitMicros, string message, CancellationToken cancellationToken)
    {
        var flipped = percent == 80
            ? await db.Database.ExecuteSqlAsync($"UPDATE budget_months SET alerted80 = {true} WHERE month = {month} AND alerted80 = {false}", cancellationToken)
            : await db.Database.ExecuteSqlAsync($"UPDATE budget_months SET alerted100 = {true} WHERE month = {month} AND alerted100 = {false}", cancellationToken);
        if (flipped != 1)
        {
            return;
        }

        await events.PublishAsync(db, taskId, EventTypes.SystemAlert, new
        {
            level = percent >= 100 ? "critical" : "warning",
            kind = "monthly_budget",
            threshold_percent = percent,
            month,
            spent_usd = Money.ToUsd(spentMicros),
            monthly_budget_usd = Money.ToUsd(limitMicros),
            task_id = taskId,
            message,
        }, cancellationToken);
        LogBudgetAlert(logger, percent, month, Money.ToUsd(spentMicros), Money.ToUsd(limitMicros));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Released {Count} expired cost reservation(s): their workers stopped mid-call")]
    private static partial void LogReleasedExpired(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Monthly budget alert: {Percent}% reached in {Month} (${Spent} of ${Limit})")]
    private static partial void LogBudgetAlert(ILogger logger, int percent, string month, decimal spent, decimal limit);
}
