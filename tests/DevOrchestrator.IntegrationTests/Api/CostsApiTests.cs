using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Features.Costs;
using DevOrchestrator.IntegrationTests.Infrastructure;

namespace DevOrchestrator.IntegrationTests.Api;

public sealed class CostsApiTests
{
    /// <summary>The ledger of March 2025 (plus a call on either side of it and one now), written straight to the database.</summary>
    internal sealed record Ledger(long Web, long Api, long Task1, long Task2, long Task3, long Alice, long Bob, string Month);

    internal static async Task<Ledger> SeedAsync(ServiceUnderTest service, long spentMicros, long reservedMicros, CancellationToken ct)
    {
        // A call "now" and the month's budget row must land in the month the request will see.
        var now = DateTimeOffset.UtcNow;
        var untilNextMonth = CostWindowStart(now).AddMonths(1) - now;
        if (untilNextMonth < TimeSpan.FromMinutes(1))
        {
            await Task.Delay(untilNextMonth + TimeSpan.FromSeconds(1), ct);
            now = DateTimeOffset.UtcNow;
        }

        await using var db = service.State.OpenDb();
        var created = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var web = new Project { Name = "web", CreatedAt = created, UpdatedAt = created };
        var api = new Project { Name = "api", CreatedAt = created, UpdatedAt = created };
        var alice = new User { Email = "alice@example.com", PasswordHash = "x", Role = Roles.Viewer, CreatedAt = created };
        var bob = new User { Email = "bob@example.com", PasswordHash = "x", Role = Roles.Viewer, CreatedAt = created };
        db.AddRange(web, api, alice, bob);
        await db.SaveChangesAsync(ct);
        var t1 = new DevTask { Title = "first task", ProjectId = web.Id, CreatedAt = created, UpdatedAt = created };
        var t2 = new DevTask { Title = "second task", ProjectId = web.Id, CreatedAt = created, UpdatedAt = created };
        var t3 = new DevTask { Title = "third task", ProjectId = api.Id, CreatedAt = created, UpdatedAt = created };
        db.AddRange(t1, t2, t3);
        await db.SaveChangesAsync(ct);

        CostEntry Entry(string at, string provider, string model, Project? project, DevTask? task, User? user, long input, long output, long cacheWrite, long cacheRead, decimal usd) => new()
        {
            CreatedAt = DateTimeOffset.Parse(at, System.Globalization.CultureInfo.InvariantCulture),
            Provider = provider,
            Model = model,
            ProjectId = project?.Id,
            TaskId = task?.Id,
            UserId = user?.Id,
            AgentRole = "development",
            InputTokens = input,
            OutputTokens = output,
            CacheWriteTokens = cacheWrite,
            CacheReadTokens = cacheRead,
            Usd = usd,
            LatencyMs = 100,
        };

        db.CostEntries.AddRange(
            Entry("2025-02-28T23:59:59Z", "anthropic", "claude-sonnet-4-5", web, t1, alice, 9, 9, 9, 9, 5m),
            Entry("2025-03-01T00:00:00Z", "anthropic", "claude-sonnet-4-5", web, t1, alice, 1000, 200, 50, 10, 0.123456m),
            Entry("2025-03-01T23:59:59Z", "openai", "gpt-5-mini", web, t2, bob, 500, 100, 0, 0, 0.01m),
            Entry("2025-03-02T12:00:00Z", "anthropic", "claude-sonnet-4-5", api, t3, alice, 2000, 400, 0, 300, 1.5m),
            Entry("2025-03-31T23:59:59.999Z", "anthropic", "claude-haiku-4-5", null, null, null, 100, 10, 0, 0, 0.000123m),
            Entry("2025-04-01T00:00:00Z", "anthropic", "claude-sonnet-4-5", api, t3, bob, 9, 9, 9, 9, 7m),
            Entry(now.ToString("O", System.Globalization.CultureInfo.InvariantCulture), "openai", "gpt-5", api, t3, bob, 10_000, 1_000, 0, 0, 2.5m));
        var month = CostLedger.MonthOf(now);
        db.BudgetMonths.Add(new BudgetMonth { Month = month, SpentMicros = spentMicros, ReservedMicros = reservedMicros });
        db.BudgetMonths.Add(new BudgetMonth { Month = "2025-03", SpentMicros = 1_633_579, ReservedMicros = 0 });
        await db.SaveChangesAsync(ct);
        return new Ledger(web.Id, api.Id, t1.Id, t2.Id, t3.Id, alice.Id, bob.Id, month);
    }

    private static DateTimeOffset CostWindowStart(DateTimeOffset now) => new(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);

    private static async Task<JsonNode> GetDataAsync(HttpClient client, string url, CancellationToken ct)
    {
        var response = await client.GetAsync(url, ct);
        var body = await response.ReadJsonAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToJsonString());
        Assert.True((bool)body["success"]!);
        return body["data"]!;
    }

    private static (string? Key, string? Label, long Calls, decimal Usd)[] Rows(JsonNode data) =>
        data["breakdown"]!.AsArray().Select(r => (r!["key"]?.ToString(), (string?)r["label"], (long)r["calls"]!, (decimal)r["usd"]!)).ToArray();

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Totals_and_every_grouping_of_a_window(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, settings: new Dictionary<string, string?>
        {
            ["MONTHLY_BUDGET_LIMIT"] = "100",
            ["PER_TASK_COST_LIMIT"] = "7.5",
        }, cancellationToken: ct);
        var ledger = await SeedAsync(service, spentMicros: 40_000_000, reservedMicros: 1_500_000, ct);
        using var client = await service.ClientForNewUserAsync(Roles.Admin, ct);
        const string march = "from=2025-03-01&to=2025-03-31";

        var byDay = await GetDataAsync(client, $"/api/v1/costs?{march}&group_by=day", ct);
        Assert.Equal(1.633579m, (decimal)byDay["total_usd"]!);
        Assert.Equal("day", (string?)byDay["group_by"]);
        Assert.Equal(new DateTimeOffset(2025, 3, 1, 0, 0, 0, TimeSpan.Zero), DateTimeOffset.Parse((string)byDay["from"]!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(new DateTimeOffset(2025, 4, 1, 0, 0, 0, TimeSpan.Zero), DateTimeOffset.Parse((string)byDay["to"]!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(
            [("2025-03-01", null, 2L, 0.133456m), ("2025-03-02", null, 1L, 1.5m), ("2025-03-31", null, 1L, 0.000123m)],
            Rows(byDay));
        var firstDayTokens = byDay["breakdown"]![0]!["tokens"]!;
        Assert.Equal(1500, (long)firstDayTokens["input"]!);
        Assert.Equal(300, (long)firstDayTokens["output"]!);
        Assert.Equal(50, (long)firstDayTokens["cache_write"]!);
        Assert.Equal(10, (long)firstDayTokens["cache_read"]!);
        Assert.Equal(1860, (long)firstDayTokens["total"]!);

        // The month's budget comes from budget_months, whatever the window.
        Assert.Equal(ledger.Month, (string?)byDay["month"]);
        Assert.Equal(100m, (decimal)byDay["monthly_budget_usd"]!);
        Assert.Equal(40m, (decimal)byDay["month_spent_usd"]!);
        Assert.Equal(1.5m, (decimal)byDay["reserved_usd"]!);
        Assert.Equal(58.5m, (decimal)byDay["remaining_usd"]!);
        Assert.Equal(7.5m, (decimal)byDay["per_task_limit_usd"]!);
        Assert.True((bool)byDay["cost_tracking_enabled"]!);

        var byModel = await GetDataAsync(client, $"/api/v1/costs?{march}&group_by=model", ct);
        Assert.Equal(1.633579m, (decimal)byModel["total_usd"]!);
        Assert.Equal(
            [("claude-sonnet-4-5", "anthropic", 2L, 1.623456m), ("gpt-5-mini", "openai", 1L, 0.01m), ("claude-haiku-4-5", "anthropic", 1L, 0.000123m)],
            Rows(byModel));
        var sonnetTokens = byModel["breakdown"]![0]!["tokens"]!;
        Assert.Equal([3000L, 600L, 50L, 310L, 3960L],
            new[] { "input", "output", "cache_write", "cache_read", "total" }.Select(k => (long)sonnetTokens[k]!).ToArray());

        var byProject = await GetDataAsync(client, $"/api/v1/costs?{march}&group_by=project", ct);
        Assert.Equal(
            [($"{ledger.Api}", "api", 1L, 1.5m), ($"{ledger.Web}", "web", 2L, 0.133456m), (null, null, 1L, 0.000123m)],
            Rows(byProject));
        Assert.Equal(JsonValueKind.Number, byProject["breakdown"]![0]!["key"]!.GetValueKind());

        var byTask = await GetDataAsync(client, $"/api/v1/costs?{march}&group_by=task", ct);
        Assert.Equal(
            [($"{ledger.Task3}", "third task", 1L, 1.5m), ($"{ledger.Task1}", "first task", 1L, 0.123456m), ($"{ledger.Task2}", "second task", 1L, 0.01m), (null, null, 1L, 0.000123m)],
            Rows(byTask));

        var byUser = await GetDataAsync(client, $"/api/v1/costs?{march}&group_by=user", ct);
        Assert.Equal(
            [($"{ledger.Alice}", "alice@example.com", 2L, 1.623456m), ($"{ledger.Bob}", "bob@example.com", 1L, 0.01m), (null, null, 1L, 0.000123m)],
            Rows(byUser));
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task The_window_is_half_open_and_defaults_to_the_current_month(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, settings: new Dictionary<string, string?> { ["MONTHLY_BUDGET_LIMIT"] = "10" }, cancellationToken: ct);
        var ledger = await SeedAsync(service, spentMicros: 9_000_000, reservedMicros: 2_000_000, ct);
        using var client = await service.ClientForNewUserAsync(Roles.Admin, ct);

        // No window: this month only (the call made "now"); spent + reserved beyond the budget leaves 0, not a negative.
        var current = await GetDataAsync(client, "/api/v1/costs", ct);
        Assert.Equal(2.5m, (decimal)current["total_usd"]!);
        Assert.Equal("day", (string?)current["group_by"]);
        var monthStart = CostWindowStart(DateTimeOffset.UtcNow);
        Assert.Equal(monthStart, DateTimeOffset.Parse((string)current["from"]!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(monthStart.AddMonths(1), DateTimeOffset.Parse((string)current["to"]!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(0m, (decimal)current["remaining_usd"]!);
        Assert.Equal(9m, (decimal)current["month_spent_usd"]!);
        Assert.Equal(2m, (decimal)current["reserved_usd"]!);
        Assert.Equal(ledger.Month, (string?)current["month"]);

        async Task<decimal> TotalAsync(string query) => (decimal)(await GetDataAsync(client, "/api/v1/costs?" + query, ct))["total_usd"]!;

        // Date-times: from inclusive, to exclusive (the 12:00 call on 2 March is out of the first window, in the second).
        Assert.Equal(0.01m, await TotalAsync("from=2025-03-01T12:00:00Z&to=2025-03-02T12:00:00Z"));
        Assert.Equal(1.5m, await TotalAsync("from=2025-03-02T13:00:00%2B01:00&to=2025-03-03"));
        Assert.Equal(1.5m, await TotalAsync("from=2025-03-02T13:00:00+01:00&to=2025-03-02T12:00:01"));
        // A date "to" covers its whole day; the first instant of March and the last millisecond are inside.
        Assert.Equal(0.133456m, await TotalAsync("from=2025-03-01&to=2025-03-01"));
        Assert.Equal(1.633579m, await TotalAsync("from=2025-03-01T00:00:00Z&to=2025-04-01T00:00:00Z"));
        // "to" alone starts at the first of its month; "from" alone runs to the end of this month.
        Assert.Equal(1.633456m, await TotalAsync("to=2025-03-15"));
        Assert.Equal(1.633579m + 7m + 2.5m, await TotalAsync("from=2025-03-01&group_by=model"));
        Assert.Equal(0m, await TotalAsync("from=2024-01-01&to=2024-12-31"));
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Bad_parameters_are_named_and_a_token_is_required(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Viewer, ct);

        var bad = await client.GetAsync("/api/v1/costs?from=yesterday&to=2025-02-30&group_by=week", ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var error = (await bad.ReadJsonAsync())["error"]!;
        Assert.Equal("VALIDATION_ERROR", (string?)error["code"]);
        var details = error["details"]!.AsObject();
        Assert.Equal(["from", "group_by", "to"], details.Select(kv => kv.Key).Order().ToArray());
        Assert.Equal("must be one of: day, model, project, task, user", (string?)details["group_by"]![0]);
        Assert.Contains("ISO 8601", (string?)details["from"]![0], StringComparison.Ordinal);

        var reversed = await client.GetAsync("/api/v1/costs?from=2025-03-10&to=2025-03-01", ct);
        Assert.Equal(HttpStatusCode.BadRequest, reversed.StatusCode);
        var reversedDetails = (await reversed.ReadJsonAsync())["error"]!["details"]!.AsObject();
        Assert.Equal("from", Assert.Single(reversedDetails).Key);
        Assert.Contains("must not be after to", (string?)reversedDetails["from"]![0], StringComparison.Ordinal);

        var anonymous = await service.Client.GetAsync("/api/v1/costs", ct);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("UNAUTHORIZED", (string?)(await anonymous.ReadJsonAsync())["error"]!["code"]);
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Tasks_and_agent_executions_show_their_cost(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Admin, ct);
        long taskId, agentId;
        await using (var context = service.State.OpenDb())
        {
            var now = DateTimeOffset.UtcNow;
            var task = new DevTask { Title = "metered", CostMicros = 1_234_567, CostReservedMicros = 500_000, CreatedAt = now, UpdatedAt = now };
            context.Tasks.Add(task);
            await context.SaveChangesAsync(ct);
            var agent = new AgentExecution { TaskId = task.Id, AgentType = "development", Status = AgentStatuses.Completed, CostMicros = 250_000, StartedAt = now };
            context.AgentExecutions.Add(agent);
            await context.SaveChangesAsync(ct);
            (taskId, agentId) = (task.Id, agent.Id);
        }

        var shown = (await GetDataAsync(client, $"/api/v1/tasks/{taskId}", ct));
        Assert.Equal(1.234567m, (decimal)shown["cost_usd"]!);
        Assert.Equal(0.5m, (decimal)shown["cost_reserved_usd"]!);
        var listed = (await GetDataAsync(client, "/api/v1/tasks", ct)).AsArray().Single()!;
        Assert.Equal(1.234567m, (decimal)listed["cost_usd"]!);

        Assert.Equal(0.25m, (decimal)(await GetDataAsync(client, $"/api/v1/agents/{agentId}/status", ct))["cost_usd"]!);
        Assert.Equal(0.25m, (decimal)(await GetDataAsync(client, $"/api/v1/agents?task_id={taskId}", ct)).AsArray().Single()!["cost_usd"]!);
    }
}
