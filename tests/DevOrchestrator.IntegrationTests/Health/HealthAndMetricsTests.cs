using System.Net;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Hosting;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.IntegrationTests.Health;

public sealed class HealthAndMetricsTests
{
    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Health_reports_the_database_and_probes_answer(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);

        var health = await service.Client.GetAsync("/health", ct);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var body = await health.ReadJsonAsync();
        Assert.Equal("healthy", (string?)body["status"]);
        Assert.NotNull(body["timestamp"]);
        Assert.Equal("healthy", (string?)body["services"]!["database"]!["status"]);
        Assert.Equal(db == Db.Postgres ? "postgresql" : "sqlite", (string?)body["services"]!["database"]!["details"]!["provider"]);
        Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/health/live", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/health/ready", ct)).StatusCode);
    }

    [Fact]
    public async Task Health_reports_the_sandbox_fallback_as_degraded_with_the_reason()
    {
        var ct = TestContext.Current.CancellationToken;
        var log = Path.Combine(Path.GetTempPath(), "devorch-sandbox-health-" + Guid.NewGuid().ToString("N") + ".log");
        await using var service = await ServiceUnderTest.StartAsync(Db.Sqlite, settings: new Dictionary<string, string?> { ["SANDBOX_MODE"] = "process", ["LOG_FILE"] = log }, cancellationToken: ct);

        // The worker warned at start, before anything asked.
        var text = await HttpJson.EventuallyAsync(
            async () => File.Exists(log) ? await File.ReadAllTextAsync(log, ct) : "",
            t => t.Contains("Sandbox fallback in use", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        Assert.Contains("SANDBOX_MODE=process", text[text.IndexOf("Sandbox fallback in use", StringComparison.Ordinal)..], StringComparison.Ordinal);
        File.Delete(log);

        var health = await service.Client.GetAsync("/health", ct);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var body = await health.ReadJsonAsync();
        Assert.Equal("degraded", (string?)body["status"]);
        var sandbox = body["services"]!["sandbox"]!;
        Assert.Equal("degraded", (string?)sandbox["status"]);
        Assert.Equal("process", (string?)sandbox["details"]!["mode"]);
        Assert.Contains("SANDBOX_MODE=process", (string?)sandbox["message"], StringComparison.Ordinal);
        Assert.Contains("DATA_DIR", (string?)sandbox["message"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/health/ready", ct)).StatusCode);
    }

    [Fact]
    public async Task Health_reports_the_bubblewrap_sandbox_as_healthy()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(Db.Sqlite, cancellationToken: ct);
        var sandbox = service.Services.GetRequiredService<DevOrchestrator.Features.Workspaces.Sandbox>();
        if (await sandbox.GetModeAsync(ct) != DevOrchestrator.Features.Workspaces.Sandbox.BubblewrapMode)
        {
            Assert.Skip("bubblewrap is not usable on this machine");
        }

        var body = await (await service.Client.GetAsync("/health", ct)).ReadJsonAsync();
        Assert.Equal("healthy", (string?)body["services"]!["sandbox"]!["status"]);
        Assert.Equal("bubblewrap", (string?)body["services"]!["sandbox"]!["details"]!["mode"]);
    }

    [Fact]
    public async Task Health_is_unhealthy_with_503_when_the_database_is_unreachable()
    {
        var ct = TestContext.Current.CancellationToken;
        // Port 1 on loopback: nothing listens, so every connection is refused at once.
        await using var service = await ServiceUnderTest.StartWithoutMigrationAsync(
            new Dictionary<string, string?> { ["DATABASE_URL"] = "postgresql://nobody:pw@127.0.0.1:1/none" }, ServiceRole.Api, ct);
        var health = await service.Client.GetAsync("/health", ct);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        var body = await health.ReadJsonAsync();
        Assert.Equal("unhealthy", (string?)body["status"]);
        Assert.Equal("unhealthy", (string?)body["services"]!["database"]!["status"]);
        Assert.DoesNotContain("pw", (string?)body["services"]!["database"]!["message"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await service.Client.GetAsync("/health/ready", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/health/live", ct)).StatusCode);
    }

    [Fact]
    public async Task Metrics_use_the_guides_names_and_label_by_route_template()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(Db.Sqlite, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Operator, ct);
        await client.PostJsonAsync("/api/v1/tasks", new { title = "counted" });
        await client.GetAsync("/api/v1/tasks/1", ct);
        await client.GetAsync("/api/v1/tasks/2", ct);

        var text = await service.Client.GetStringAsync("/metrics", ct);
        Assert.Contains("http_requests_total{method=\"GET\",endpoint=\"/api/v1/tasks/{id:long}\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("endpoint=\"/api/v1/tasks/1\"", text, StringComparison.Ordinal);
        Assert.Contains("http_request_duration_seconds_bucket", text, StringComparison.Ordinal);
        Assert.Contains("tasks_total{status=\"pending\"} 1", text, StringComparison.Ordinal);
        foreach (var name in new[] { "active_agents_count", "task_completion_seconds", "ai_tokens_used_total" })
        {
            Assert.Contains($"# TYPE {name}", text, StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await service.Client.GetAsync("/api/v1/metrics", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/metrics", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/openapi/v1.json", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/docs", ct)).StatusCode);
    }
}
