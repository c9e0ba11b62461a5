using DevOrchestrator.Abstractions.Plugins;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Polly.CircuitBreaker;

namespace DevOrchestrator.IntegrationTests.Plugins.Slack;

/// <summary>The shared plugin resilience pipeline as the Slack plugin's calls meet it: Retry-After, retries, the circuit, telemetry.</summary>
public sealed class SlackResilienceTests
{
    private const string Channel = SlackTestHost.Channel;

    [Fact]
    public async Task A_429_is_retried_after_the_Retry_After_delay_as_one_logical_call()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-05T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var host = await SlackTestHost.StartAsync(ct, timeProvider: time, resilience: new PluginResilienceOptions
        {
            RetryAttempts = 2,
            RetryBaseDelay = TimeSpan.FromMilliseconds(20),
            RateLimitingEnabled = false,
        });
        host.Server.Fail(429, pathContains: "chat.update", retryAfter: TimeSpan.FromSeconds(3));
        var posted = await host.Plugin.PostMessageAsync(new ChatMessageDraft(Channel, "v1"), "k", ct);

        var update = host.Plugin.UpdateMessageAsync(posted, "v2", ct);
        await WaitUntilAsync(() => host.Server.RequestsTo("POST", "/api/chat.update").Count == 1, ct);
        // Slack's Retry-After (3 s), not the 20 ms base delay, decides when the retry goes out.
        var waited = TimeSpan.Zero;
        while (host.Server.RequestsTo("POST", "/api/chat.update").Count < 2 && waited < TimeSpan.FromMinutes(1))
        {
            await Task.Delay(20, ct);
            time.Advance(TimeSpan.FromMilliseconds(250));
            waited += TimeSpan.FromMilliseconds(250);
        }

        var updated = await update.WaitAsync(TimeSpan.FromSeconds(30), ct);

        Assert.InRange(waited, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(30));
        var requests = host.Server.RequestsTo("POST", "/api/chat.update");
        Assert.Equal([429, 200], requests.Select(r => r.StatusCode));
        Assert.Equal("v2", host.Server.Message(Channel, updated.MessageId)!.Text);
    }

    [Fact]
    public async Task Server_errors_are_retried_up_to_the_retry_attempts_then_fail()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await SlackTestHost.StartAsync(ct, resilience: new PluginResilienceOptions
        {
            RetryAttempts = 2,
            RetryBaseDelay = TimeSpan.FromMilliseconds(10),
            RateLimitingEnabled = false,
            CircuitBreakerThreshold = 10,
        });
        host.Server.Fail(500, count: 3, pathContains: "auth.test");

        var ex = await Assert.ThrowsAsync<PluginException>(() => host.Plugin.ConnectAsync(ct));

        Assert.Equal(500, ex.StatusCode);
        Assert.Contains("auth.test", ex.Message, StringComparison.Ordinal);
        Assert.Equal([500, 500, 500], host.Server.RequestsTo("GET", "/api/auth.test").Select(r => r.StatusCode));

        // Two failures then a success is one successful call.
        host.Server.Fail(500, count: 2, pathContains: "auth.test");
        await host.Plugin.ConnectAsync(ct);
        Assert.Equal([500, 500, 500, 500, 500, 200], host.Server.RequestsTo("GET", "/api/auth.test").Select(r => r.StatusCode));
    }

    [Fact]
    public async Task The_circuit_opens_after_consecutive_failures_fails_fast_and_closes_after_two_good_trials()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-05T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var telemetry = new RecordingPluginTelemetry();
        await using var host = await SlackTestHost.StartAsync(ct, timeProvider: time, telemetry: telemetry, resilience: new PluginResilienceOptions
        {
            RetryAttempts = 0,
            CircuitBreakerThreshold = 3,
            BreakDuration = TimeSpan.FromSeconds(30),
            SuccessesToClose = 2,
            RateLimitingEnabled = false,
        });
        var breaker = host.Services.GetRequiredService<PluginResilienceState>().Breaker("slack");
        host.Server.Fail(503, count: 3);

        for (var i = 0; i < 3; i++)
        {
            var failed = await Assert.ThrowsAsync<PluginException>(() => host.Plugin.ConnectAsync(ct));
            Assert.Equal(503, failed.StatusCode);
        }

        Assert.Equal(PluginCircuitState.Open, breaker.State);
        var open = await Assert.ThrowsAsync<PluginException>(() => host.Plugin.PostMessageAsync(new ChatMessageDraft(Channel, "x"), "k", ct));
        Assert.IsType<BrokenCircuitException>(open.InnerException);
        Assert.Contains("circuit", open.Message, StringComparison.Ordinal);
        Assert.Equal(3, host.Server.Requests.Count);
        Assert.Empty(host.Server.Channels[Channel].Messages);

        time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(PluginCircuitState.HalfOpen, breaker.State);
        await host.Plugin.ConnectAsync(ct);
        Assert.Equal(PluginCircuitState.HalfOpen, breaker.State);
        await host.Plugin.ConnectAsync(ct);
        Assert.Equal(PluginCircuitState.Closed, breaker.State);
        Assert.Equal(5, host.Server.Requests.Count);

        // Closed again: one failure does not open it.
        host.Server.Fail(500);
        await Assert.ThrowsAsync<PluginException>(() => host.Plugin.ConnectAsync(ct));
        Assert.Equal(PluginCircuitState.Closed, breaker.State);
        Assert.Equal([PluginCircuitState.Open, PluginCircuitState.HalfOpen, PluginCircuitState.Closed], telemetry.CircuitChanges.Select(c => c.State));
        Assert.All(telemetry.CircuitChanges, c => Assert.Equal("slack", c.Plugin));
    }

    [Fact]
    public async Task Telemetry_sees_success_server_error_and_circuit_open_for_slack()
    {
        var ct = TestContext.Current.CancellationToken;
        var telemetry = new RecordingPluginTelemetry();
        await using var host = await SlackTestHost.StartAsync(ct, telemetry: telemetry, resilience: new PluginResilienceOptions
        {
            RetryAttempts = 1,
            RetryBaseDelay = TimeSpan.FromMilliseconds(10),
            CircuitBreakerThreshold = 2,
            BreakDuration = TimeSpan.FromMinutes(10),
            RateLimitingEnabled = false,
        });

        await host.Plugin.ConnectAsync(ct);
        host.Server.Fail(500, count: 2);
        await Assert.ThrowsAsync<PluginException>(() => host.Plugin.ConnectAsync(ct));
        await Assert.ThrowsAsync<PluginException>(() => host.Plugin.ConnectAsync(ct));

        Assert.Equal(
            [("slack", PluginOutcomes.Success), ("slack", PluginOutcomes.ServerError), ("slack", PluginOutcomes.CircuitOpen)],
            telemetry.Outcomes);
        Assert.Equal(3, host.Server.Requests.Count);
    }

    [Fact]
    public async Task A_hanging_slack_is_a_timeout_plugin_error()
    {
        var ct = TestContext.Current.CancellationToken;
        var telemetry = new RecordingPluginTelemetry();
        await using var host = await SlackTestHost.StartAsync(ct, telemetry: telemetry, resilience: new PluginResilienceOptions
        {
            RetryAttempts = 0,
            AttemptTimeout = TimeSpan.FromMilliseconds(300),
            RateLimitingEnabled = false,
        });
        host.Server.Hang(TimeSpan.FromSeconds(30), pathContains: "auth.test");

        var ex = await Assert.ThrowsAsync<PluginException>(() => host.Plugin.ConnectAsync(ct));

        Assert.Equal(504, ex.StatusCode);
        Assert.Contains("did not answer in time", ex.Message, StringComparison.Ordinal);
        Assert.Equal([("slack", PluginOutcomes.Timeout)], telemetry.Outcomes);
        Assert.Single(host.Server.Requests);
    }

    [Fact]
    public async Task The_slack_rate_setting_overrides_the_shared_rate()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await SlackTestHost.StartAsync(ct,
            resilience: new PluginResilienceOptions { RequestsPerSecond = 2.0, RateLimitingEnabled = true, RetryBaseDelay = TimeSpan.FromMilliseconds(20) },
            settings: new Dictionary<string, string?> { ["SLACK_RATE_LIMIT_REQUESTS_PER_SECOND"] = "7" });

        await host.Plugin.ConnectAsync(ct);

        // The plugin's bucket was made with the override: 7 tokens a second (the shared rate would give 2).
        var limiter = host.Services.GetRequiredService<PluginResilienceState>().Limiter("slack", requestsPerSecond: 1);
        Assert.InRange(limiter.GetStatistics()!.CurrentAvailablePermits, 6, 7);
        Assert.Single(host.Server.Requests);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }
}
