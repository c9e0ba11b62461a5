using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.Plugins.Confluence;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace DevOrchestrator.IntegrationTests.Plugins.Confluence;

/// <summary>The shared plugin resilience pipeline as the Confluence plugin's calls go through it.</summary>
public sealed class ConfluenceResilienceTests
{
    private const string Spaces = "/wiki/api/v2/spaces";

    [Fact]
    public async Task A_429_with_Retry_After_is_waited_out_and_retried_within_one_call()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeConfluenceServer.StartAsync(cancellationToken: ct);
        await using var services = ConfluenceTestHost.Build(server);
        var plugin = services.GetRequiredService<ConfluencePlugin>();
        server.Fail(429, retryAfter: TimeSpan.FromSeconds(1));

        var connection = await plugin.ConnectAsync(ct);

        Assert.StartsWith(server.Email, connection.Identity, StringComparison.Ordinal);
        var requests = server.RequestsTo("GET", Spaces);
        Assert.Equal([429, 200], requests.Select(r => r.StatusCode));
        Assert.All(requests, r => Assert.Equal(server.ExpectedAuthorization, r.Headers["Authorization"]));
    }

    [Fact]
    public async Task Server_errors_are_retried_PLUGIN_RETRY_ATTEMPTS_times_then_fail()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeConfluenceServer.StartAsync(cancellationToken: ct);
        var resilience = ConfluenceTestHost.FastResilience();
        resilience.RetryAttempts = 2;
        await using var services = ConfluenceTestHost.Build(server, resilience);
        var plugin = services.GetRequiredService<ConfluencePlugin>();
        server.Fail(500, count: 3);

        var ex = await Assert.ThrowsAsync<PluginException>(() => plugin.ConnectAsync(ct));

        Assert.Equal(500, ex.StatusCode);
        Assert.Contains("injected failure 500", ex.Message, StringComparison.Ordinal);
        Assert.Equal([500, 500, 500], server.RequestsTo("GET", Spaces).Select(r => r.StatusCode));

        // The next call is fine again (the failures were used up, the circuit threshold is far away).
        await plugin.ConnectAsync(ct);
        Assert.Equal(4, server.Requests.Count);
    }

    [Fact]
    public async Task The_circuit_opens_after_consecutive_failures_fails_fast_then_half_opens_and_closes_after_two_successes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeConfluenceServer.StartAsync(cancellationToken: ct);
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-05T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var telemetry = new RecordingPluginTelemetry();
        var resilience = ConfluenceTestHost.FastResilience();
        resilience.RetryAttempts = 0;
        resilience.CircuitBreakerThreshold = 3;
        resilience.BreakDuration = TimeSpan.FromMinutes(1);
        await using var services = ConfluenceTestHost.Build(server, resilience, s =>
        {
            s.AddSingleton<TimeProvider>(time);
            s.AddSingleton<IPluginTelemetry>(telemetry);
        });
        var plugin = services.GetRequiredService<ConfluencePlugin>();
        var breaker = services.GetRequiredService<PluginResilienceState>().Breaker("confluence");
        server.Fail(500, count: 3);

        for (var i = 0; i < 3; i++)
        {
            var failure = await Assert.ThrowsAsync<PluginException>(() => plugin.ConnectAsync(ct));
            Assert.Equal(500, failure.StatusCode);
        }

        Assert.Equal(PluginCircuitState.Open, breaker.State);
        var open = await Assert.ThrowsAsync<PluginException>(() => plugin.ConnectAsync(ct));
        Assert.Null(open.StatusCode);
        Assert.Contains("circuit", open.Message, StringComparison.Ordinal);
        Assert.Equal(3, server.Requests.Count); // refused without reaching the server
        var unhealthy = await plugin.CheckHealthAsync(ct);
        Assert.False(unhealthy.Healthy);
        Assert.Equal(3, server.Requests.Count);

        time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        await plugin.ConnectAsync(ct);
        Assert.Equal(PluginCircuitState.HalfOpen, breaker.State);
        await plugin.ConnectAsync(ct);
        Assert.Equal(PluginCircuitState.Closed, breaker.State);
        Assert.Equal(5, server.Requests.Count);

        Assert.Equal(
            [PluginCircuitState.Open, PluginCircuitState.HalfOpen, PluginCircuitState.Closed],
            telemetry.CircuitChanges.Select(c => c.State));
        Assert.All(telemetry.CircuitChanges, c => Assert.Equal("confluence", c.Plugin));
    }

    [Fact]
    public async Task Telemetry_sees_success_server_error_and_circuit_open_under_the_plugins_name()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeConfluenceServer.StartAsync(cancellationToken: ct);
        server.AddSpace("DOCS");
        var telemetry = new RecordingPluginTelemetry();
        var resilience = ConfluenceTestHost.FastResilience();
        resilience.RetryAttempts = 0;
        resilience.CircuitBreakerThreshold = 1;
        await using var services = ConfluenceTestHost.Build(server, resilience, s => s.AddSingleton<IPluginTelemetry>(telemetry));
        var plugin = services.GetRequiredService<IDocumentationPlugin>();

        await plugin.ConnectAsync(ct);
        server.Fail(500);
        await Assert.ThrowsAsync<PluginException>(() => plugin.ConnectAsync(ct));
        await Assert.ThrowsAsync<PluginException>(() =>
            plugin.CreateOrUpdatePageAsync(new DocumentPageDraft("DOCS", null, "Title", "<p>x</p>"), ct));

        Assert.Equal(
            [PluginOutcomes.Success, PluginOutcomes.ServerError, PluginOutcomes.CircuitOpen],
            telemetry.Outcomes.Select(o => o.Outcome));
        Assert.All(telemetry.Outcomes, o => Assert.Equal("confluence", o.Plugin));
        Assert.Equal(2, server.Requests.Count);
    }

    [Fact]
    public async Task A_call_that_gets_no_answer_times_out_as_a_PluginException()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeConfluenceServer.StartAsync(cancellationToken: ct);
        var resilience = ConfluenceTestHost.FastResilience();
        resilience.RetryAttempts = 0;
        resilience.AttemptTimeout = TimeSpan.FromSeconds(2);
        await using var services = ConfluenceTestHost.Build(server, resilience);
        var plugin = services.GetRequiredService<ConfluencePlugin>();
        server.Hang(TimeSpan.FromMinutes(2));

        var ex = await Assert.ThrowsAsync<PluginException>(() => plugin.ConnectAsync(ct));

        Assert.Null(ex.StatusCode);
        Assert.Contains("did not answer in time", ex.Message, StringComparison.Ordinal);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task Cancelling_the_caller_stops_the_call_as_a_cancellation()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeConfluenceServer.StartAsync(cancellationToken: ct);
        await using var services = ConfluenceTestHost.Build(server);
        var plugin = services.GetRequiredService<ConfluencePlugin>();
        server.Hang(TimeSpan.FromMinutes(2));
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);

        var call = plugin.ConnectAsync(cancel.Token);
        while (server.Requests.Count == 0)
        {
            await Task.Delay(20, ct); // the request is at the server (and held there) before we cancel
        }

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);

        Assert.Single(server.Requests);
    }
}
