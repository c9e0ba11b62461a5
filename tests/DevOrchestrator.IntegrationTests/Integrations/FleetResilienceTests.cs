using System.Net.Http.Json;
using System.Text;
using DevOrchestrator.Data;
using DevOrchestrator.Hosting;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.IntegrationTests.Integrations;

/// <summary>
/// The production split on one PostgreSQL and one Redis: the API in this process, two <c>devorch serve --role worker</c>
/// processes, the fake Jira. The workers share the vendor's circuit and its rate budget through Redis, and keep working
/// when Redis goes away. Each test has its own <c>REDIS_KEY_PREFIX</c>.
/// </summary>
public sealed class FleetResilienceTests
{
    /// <summary>A workflow of <paramref name="calls"/> steps that each fetch a Jira issue (one Jira call each).</summary>
    private static string JiraCalls(string issueKey, int calls)
    {
        var yaml = new StringBuilder($"name: jira_calls\nsteps:\n");
        for (var i = 1; i <= calls; i++)
        {
            yaml.Append(System.Globalization.CultureInfo.InvariantCulture, $"  - name: fetch_{i}\n    plugin: task_management\n    action: get_issue\n    inputs:\n      issue_key: \"{issueKey}\"\n");
        }

        return yaml.ToString();
    }

    private static async Task<IntegrationsHarness> StartAsync(string redisUrl, IDictionary<string, string?> settings, CancellationToken ct)
    {
        var all = new Dictionary<string, string?>(settings)
        {
            ["REDIS_URL"] = redisUrl,
            ["REDIS_KEY_PREFIX"] = "devorch-fleet-" + Guid.NewGuid().ToString("N")[..12] + ":",
        };
        return await IntegrationsHarness.StartAsync(Db.Postgres, ct, all, ServiceRole.Api);
    }

    private static async Task WriteWorkflowAsync(IntegrationsHarness h, string yaml, CancellationToken ct)
    {
        Directory.CreateDirectory(h.Service.State.WorkflowsDir);
        await File.WriteAllTextAsync(Path.Combine(h.Service.State.WorkflowsDir, "jira_calls.yaml"), yaml, ct);
    }

    private static async Task<(int Status, long? Id)> CreateTaskAsync(IntegrationsHarness h, string title, CancellationToken ct)
    {
        using var created = await h.Client.PostAsJsonAsync("/api/v1/tasks", new { title, project_id = h.ProjectId, workflow = "jira_calls", auto_start = true }, ct);
        var body = await created.ReadJsonAsync();
        return ((int)created.StatusCode, created.IsSuccessStatusCode ? body["data"]!["id"]!.GetValue<long>() : null);
    }

    [Fact]
    public async Task A_circuit_opened_by_failures_on_one_worker_fails_fast_on_the_other_without_a_vendor_call()
    {
        var ct = TestContext.Current.CancellationToken;
        var redis = await TestDatabases.RequireRedisAsync();
        await using var h = await StartAsync(redis, new Dictionary<string, string?>
        {
            ["CIRCUIT_BREAKER_THRESHOLD"] = "2",
            ["CIRCUIT_BREAKER_RESET_SECONDS"] = "600",
            ["PLUGIN_RETRY_ATTEMPTS"] = "1",
        }, ct);
        var issue = h.Jira.AddIssue("APP", "Probe");
        await WriteWorkflowAsync(h, JiraCalls(issue.Key, 1), ct);
        h.Jira.Fail(500, count: 2, pathContains: "/rest/api/3/issue/");

        long failedOnOne;
        await using (var one = await h.StartProcessAsync(ServiceRole.Worker, ct))
        {
            // Two failed attempts (the call and its retry) on worker 1 open the circuit.
            failedOnOne = (await CreateTaskAsync(h, "fails on worker 1", ct)).Id!.Value;
            var failed = await h.WaitFinishedAsync(failedOnOne);
            Assert.Equal("failed", failed.Status);
            Assert.Equal([500, 500], h.Jira.Requests.Where(r => r.Path.Contains("/issue/", StringComparison.Ordinal)).Select(r => r.StatusCode));
        }

        // Jira is fine again, but the fleet's circuit is open: worker 2, which saw no failure, does not call it.
        h.Jira.ClearRequests();
        await using var two = await h.StartProcessAsync(ServiceRole.Worker, ct);
        var id = (await CreateTaskAsync(h, "refused on worker 2", ct)).Id!.Value;
        var refused = await h.WaitFinishedAsync(id);

        Assert.Equal("failed", refused.Status);
        Assert.Contains("circuit", refused.Error, StringComparison.Ordinal);
        Assert.Empty(h.Jira.Requests);
    }

    [Fact]
    public async Task The_vendor_rate_is_a_budget_of_the_fleet_over_a_minute_of_load_from_both_workers()
    {
        var ct = TestContext.Current.CancellationToken;
        var redis = await TestDatabases.RequireRedisAsync();
        const double PerSecond = 4;
        var window = TimeSpan.FromSeconds(60);
        await using var h = await StartAsync(redis, new Dictionary<string, string?> { ["JIRA_RATE_LIMIT_REQUESTS_PER_SECOND"] = "4" }, ct);
        var issue = h.Jira.AddIssue("APP", "Rate");
        await WriteWorkflowAsync(h, JiraCalls(issue.Key, 40), ct);
        await using var one = await h.StartProcessAsync(ServiceRole.Worker, ct);
        await using var two = await h.StartProcessAsync(ServiceRole.Worker, ct);

        // 10 tasks of 40 calls (400 calls, 100 s at the fleet's rate), 4 at a time on each worker: more than a minute of load.
        h.Jira.ClearRequests();
        for (var i = 0; i < 10; i++)
        {
            Assert.InRange((await CreateTaskAsync(h, $"load {i}", ct)).Status, 200, 299);
        }

        var first = await HttpJson.EventuallyAsync(() => Task.FromResult(h.Jira.Requests), r => r.Count > 0, TimeSpan.FromSeconds(60));
        var start = first[0].ReceivedAt;
        await Task.Delay(start + window + TimeSpan.FromSeconds(1) - DateTimeOffset.UtcNow, ct);
        var workers = await h.Service.WithDbAsync(db => db.Tasks.AsNoTracking().Where(t => t.Status == TaskStatuses.Running).Select(t => t.WorkerId).Distinct().CountAsync(ct));
        var seen = h.Jira.Requests.Where(r => r.ReceivedAt >= start && r.ReceivedAt < start + window).ToArray();

        // Both workers were calling Jira all along (per-process buckets would let 2 × 4/s through), at the fleet's 4/s.
        Assert.Equal(2, workers);
        var expected = PerSecond * window.TotalSeconds;
        TestContext.Current.TestOutputHelper?.WriteLine($"Jira saw {seen.Length} requests in {window.TotalSeconds} s from two workers (budget {expected})");
        Assert.InRange(seen.Length, expected * 0.9, expected * 1.1);
        Assert.All(seen, r => Assert.Equal(200, r.StatusCode));
    }

    [Fact]
    public async Task Redis_killed_in_the_middle_of_a_run_degrades_health_and_loses_no_task()
    {
        var ct = TestContext.Current.CancellationToken;
        await TestDatabases.RequireRedisAsync();
        await using var redis = await RedisServerProcess.StartAsync();
        await using var h = await StartAsync(redis.Url, new Dictionary<string, string?> { ["JIRA_RATE_LIMIT_REQUESTS_PER_SECOND"] = "20" }, ct);
        var issue = h.Jira.AddIssue("APP", "Outage");
        await WriteWorkflowAsync(h, JiraCalls(issue.Key, 15), ct);
        await using var one = await h.StartProcessAsync(ServiceRole.Worker, ct);
        await using var two = await h.StartProcessAsync(ServiceRole.Worker, ct);
        var ids = new List<long>();
        for (var i = 0; i < 6; i++)
        {
            var (status, id) = await CreateTaskAsync(h, $"before {i}", ct);
            Assert.InRange(status, 200, 299);
            ids.Add(id!.Value);
        }

        await HttpJson.EventuallyAsync(() => Task.FromResult(h.Jira.Requests.Count), n => n >= 10, TimeSpan.FromSeconds(60));
        await redis.KillAsync();
        var seenAtKill = h.Jira.Requests.Count;

        var health = await HttpJson.EventuallyAsync(async () => await (await h.Service.Client.GetAsync("/health", ct)).ReadJsonAsync(),
            json => (string?)json["services"]?["redis"]?["status"] == "degraded", TimeSpan.FromSeconds(60));
        Assert.Equal("degraded", (string?)health["status"]);
        for (var i = 0; i < 3; i++)
        {
            var (status, id) = await CreateTaskAsync(h, $"during {i}", ct);
            Assert.InRange(status, 200, 299); // never a 5xx
            ids.Add(id!.Value);
        }

        // The workers keep calling Jira on their own state while Redis is away.
        await HttpJson.EventuallyAsync(() => Task.FromResult(h.Jira.Requests.Count), n => n >= seenAtKill + 10, TimeSpan.FromSeconds(60));
        await redis.RestartAsync();

        foreach (var id in ids)
        {
            var task = await h.WaitFinishedAsync(id, TimeSpan.FromSeconds(180));
            Assert.True(task.Status == TaskStatuses.Completed, $"task {id} ended {task.Status}: {task.Error}");
        }

        Assert.Equal(9, await h.TaskCountAsync());
        await HttpJson.EventuallyAsync(async () => await (await h.Service.Client.GetAsync("/health", ct)).ReadJsonAsync(),
            json => (string?)json["services"]?["redis"]?["status"] == "healthy", TimeSpan.FromSeconds(60));
    }
}
