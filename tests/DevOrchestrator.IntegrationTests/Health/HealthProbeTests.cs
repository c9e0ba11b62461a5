using System.Net;
using DevOrchestrator.IntegrationTests.Infrastructure;
using DevOrchestrator.IntegrationTests.Integrations;

namespace DevOrchestrator.IntegrationTests.Health;

/// <summary>
/// /health's flat form next to its structure, and probes that never wait on a vendor: with every vendor configured
/// and Jira holding its answer to the health probe, /health/live and /health/ready still answer.
/// </summary>
public sealed class HealthProbeTests
{
    [Fact]
    public async Task Live_and_ready_answer_while_a_vendor_holds_its_health_probe_and_health_has_the_flat_form()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var h = await IntegrationsHarness.StartAsync(Db.Sqlite, ct);
        var probe = h.Jira.Hold();

        using var anonymous = new HttpClient { BaseAddress = h.Service.Address };
        var health = anonymous.GetAsync("/health", ct);
        await probe.Arrived.WaitAsync(TimeSpan.FromSeconds(60), ct); // /health is waiting on Jira now

        using var live = await anonymous.GetAsync("/health/live", ct);
        using var ready = await anonymous.GetAsync("/health/ready", ct);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("alive", (string?)(await live.ReadJsonAsync())["data"]!["status"]);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("ready", (string?)(await ready.ReadJsonAsync())["data"]!["status"]);
        Assert.False(probe.Done.IsCompleted, "Jira still holds the probe: both probes answered without it");

        probe.Release();
        using var report = await health;
        Assert.Equal(HttpStatusCode.OK, report.StatusCode);
        var body = await report.ReadJsonAsync();

        // The guide's flat form: every dependency's status as a top-level key, equal to its entry in services.
        var services = body["services"]!.AsObject();
        Assert.Superset(new HashSet<string> { "database", "github", "jira", "slack", "confluence" }, services.Select(s => s.Key).ToHashSet());
        foreach (var (name, entry) in services)
        {
            Assert.Equal((string?)entry!["status"], (string?)body[name]);
        }

        Assert.Equal("healthy", (string?)body["database"]);
        Assert.Equal("healthy", (string?)body["jira"]);
        Assert.Equal("healthy", (string?)body["status"]);
    }
}
