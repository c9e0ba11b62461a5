using System.Globalization;
using System.Net;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Features.Tasks;
using DevOrchestrator.Hosting;
using DevOrchestrator.IntegrationTests.Dispatch;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.IntegrationTests.Health;

/// <summary>
/// /metrics of a fleet — an API host and two worker hosts on one PostgreSQL, each with its own registry, as separate
/// replicas would be: the per-process gauges (<c>tasks_running</c>, <c>active_agents_count</c>) of the replicas add up
/// to the fleet's running tasks, each replica reporting exactly the runs it owns; the shared gauges (<c>tasks_queued</c>
/// and its alias <c>queue_depth</c>) are the same on every replica (dashboards take max()).
/// </summary>
public sealed class FleetMetricsTests
{
    [Fact]
    public async Task Per_process_gauges_summed_over_replicas_give_the_fleets_running_tasks_and_shared_gauges_are_equal_everywhere()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await ServiceUnderTest.StartAsync(Db.Postgres, ServiceRole.Api, cancellationToken: ct);
        var two = new Dictionary<string, string?> { ["MAX_WORKERS"] = "2", ["MAX_CONCURRENT_AGENTS"] = "2" };
        await using var worker1 = await ServiceUnderTest.StartAsync(Db.Postgres, ServiceRole.Worker, two, shareWith: api, cancellationToken: ct);
        await using var worker2 = await ServiceUnderTest.StartAsync(Db.Postgres, ServiceRole.Worker, two, shareWith: api, cancellationToken: ct);
        using var client = await api.ClientForNewUserAsync(Roles.Operator, ct);
        var project = await DispatchTests.CreateProjectAsync(client, await GitFixtures.CreateBareRepositoryAsync(api.State.Root, ct));

        // Five tasks that run until cancelled; each worker runs at most two, so four run (two per worker) and one waits.
        var sleep = $"sleep {Random.Shared.Next(1000, 99999)}";
        var ids = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await DispatchTests.StartTaskAsync(client, project, $"Runs {i}", sleep));
        }

        var replicas = new[] { api, worker1, worker2 };
        async Task<string[]> ScrapeAllAsync() => await Task.WhenAll(replicas.Select(r => r.Client.GetStringAsync("/metrics", ct)));
        var scrapes = await HttpJson.EventuallyAsync(ScrapeAllAsync,
            s => s.Sum(x => Value(x, "tasks_running")) == 4 && s.Sum(x => Value(x, "active_agents_count")) == 4 && s.All(x => Value(x, "tasks_queued") == 1),
            TimeSpan.FromSeconds(120));

        var running = await api.WithDbAsync(db => db.Tasks.AsNoTracking().Where(t => t.Status == TaskStatuses.Running).Select(t => t.WorkerId).ToListAsync(ct));
        Assert.Equal(4, running.Count);
        Assert.Equal(running.Count, scrapes.Sum(s => Value(s, "tasks_running")));
        Assert.Equal(running.Count, scrapes.Sum(s => Value(s, "active_agents_count")));
        for (var i = 0; i < replicas.Length; i++)
        {
            // Each replica counts only what it runs itself: the API none, each worker its own two.
            var own = i == 0 ? 0 : running.Count(w => w == replicas[i].Services.GetRequiredService<WorkerIdentity>().Id);
            Assert.Equal(own, Value(scrapes[i], "tasks_running"));
            Assert.Equal(own, Value(scrapes[i], "active_agents_count"));
            Assert.Equal(1, Value(scrapes[i], "tasks_queued")); // shared: the same everywhere, max() not sum()
            Assert.Equal(1, Value(scrapes[i], "queue_depth"));
        }

        Assert.Equal(2, Value(scrapes[1], "tasks_running"));
        Assert.Equal(2, Value(scrapes[2], "tasks_running"));

        foreach (var id in ids)
        {
            // 202 for a running task (its worker stops it), 200 for the queued one (cancelled at once).
            Assert.Contains((await client.PostJsonAsync($"/api/v1/tasks/{id}/cancel", new { reason = "done measuring" })).StatusCode, new[] { HttpStatusCode.Accepted, HttpStatusCode.OK });
        }

        foreach (var id in ids)
        {
            Assert.Equal("cancelled", (string?)(await DispatchTests.WaitForFinishAsync(client, id))["status"]);
        }

        var after = await HttpJson.EventuallyAsync(ScrapeAllAsync, s => s.Sum(x => Value(x, "tasks_running")) == 0, TimeSpan.FromSeconds(60));
        Assert.All(after, s => Assert.Equal(0, Value(s, "tasks_running")));
        Assert.All(after, s => Assert.Equal(0, Value(s, "active_agents_count")));
    }

    private static double Value(string scrape, string name)
    {
        var line = scrape.Split('\n').FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        return line is null ? double.NaN : double.Parse(line[(name.Length + 1)..], CultureInfo.InvariantCulture);
    }
}
