using DevOrchestrator.Abstractions.Plugins;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static DevOrchestrator.IntegrationTests.Plugins.GitHub.GitHubTestHost;

namespace DevOrchestrator.IntegrationTests.Plugins.GitHub;

/// <summary>The shared plugin resilience pipeline as the GitHub plugin meets it: Octokit's requests go through it.</summary>
public sealed class GitHubResilienceTests
{
    [Fact]
    public async Task A_429_with_Retry_After_is_retried_within_one_call()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var env = await StartAsync(ct, createRepository: false);
        env.Server.Fail(429, pathContains: "/api/v3/user", retryAfter: TimeSpan.FromSeconds(1));

        var connection = await env.Plugin.ConnectAsync(ct);

        Assert.Equal(env.Server.Login, connection.Identity);
        var requests = env.Server.RequestsTo("GET", "/api/v3/user");
        Assert.Equal([429, 200], requests.Select(r => r.StatusCode));
        Assert.All(requests, r => Assert.Equal("Token " + env.Server.Token, r.Headers["Authorization"]));
    }

    [Fact]
    public async Task Server_errors_are_retried_up_to_the_retry_attempts_then_fail()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var env = await StartAsync(ct, new PluginResilienceOptions
        {
            RetryAttempts = 2,
            RetryBaseDelay = TimeSpan.FromMilliseconds(20),
            CircuitBreakerThreshold = 100,
            RequestsPerSecond = 1000,
        }, createRepository: false);
        env.Server.Fail(500, count: 10, pathContains: "/api/v3/user");

        var ex = await Assert.ThrowsAsync<PluginException>(() => env.Plugin.ConnectAsync(ct));

        Assert.Equal(500, ex.StatusCode);
        Assert.Contains("injected failure 500", ex.Message, StringComparison.Ordinal);
        Assert.Equal([500, 500, 500], env.Server.RequestsTo("GET", "/api/v3/user").Select(r => r.StatusCode));
    }

    [Fact]
    public async Task The_circuit_opens_fails_fast_half_opens_after_the_break_and_closes_after_two_successes()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var env = await StartAsync(ct, new PluginResilienceOptions
        {
            RetryAttempts = 0,
            CircuitBreakerThreshold = 3,
            BreakDuration = TimeSpan.FromMinutes(1),
            RequestsPerSecond = 1000,
        }, services => services.AddSingleton<TimeProvider>(time), createRepository: false);
        var breaker = env.Services.GetRequiredService<PluginResilienceState>().Breaker("github");
        env.Server.Fail(500, count: 3);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(500, (await Assert.ThrowsAsync<PluginException>(() => env.Plugin.ConnectAsync(ct))).StatusCode);
        }

        var refused = await Assert.ThrowsAsync<PluginException>(() => env.Plugin.ConnectAsync(ct));

        Assert.Equal(PluginCircuitState.Open, breaker.State);
        Assert.Null(refused.StatusCode);
        Assert.Contains("circuit", refused.Message, StringComparison.Ordinal);
        Assert.Equal(3, env.Server.Requests.Count);

        time.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(PluginCircuitState.HalfOpen, breaker.State);
        await env.Plugin.ConnectAsync(ct);
        Assert.Equal(PluginCircuitState.HalfOpen, breaker.State);
        await env.Plugin.ConnectAsync(ct);
        Assert.Equal(PluginCircuitState.Closed, breaker.State);
        Assert.Equal([500, 500, 500, 200, 200], env.Server.Requests.Select(r => r.StatusCode));
    }

    [Fact]
    public async Task Telemetry_sees_success_server_error_and_circuit_open()
    {
        var ct = TestContext.Current.CancellationToken;
        var telemetry = new RecordingPluginTelemetry();
        await using var env = await StartAsync(ct, new PluginResilienceOptions
        {
            RetryAttempts = 0,
            CircuitBreakerThreshold = 1,
            BreakDuration = TimeSpan.FromMinutes(1),
            RequestsPerSecond = 1000,
        }, services => services.AddSingleton(new FakeTimeProvider(DateTimeOffset.UtcNow)).AddSingleton<TimeProvider>(sp => sp.GetRequiredService<FakeTimeProvider>())
            .AddSingleton<IPluginTelemetry>(telemetry), createRepository: false);

        await env.Plugin.ConnectAsync(ct);
        env.Server.Fail(500);
        await Assert.ThrowsAsync<PluginException>(() => env.Plugin.ConnectAsync(ct));
        await Assert.ThrowsAsync<PluginException>(() => env.Plugin.ConnectAsync(ct));

        Assert.Equal([("github", "success"), ("github", "server_error"), ("github", "circuit_open")], telemetry.Outcomes.ToArray());
        Assert.Contains(("github", PluginCircuitState.Open), telemetry.CircuitChanges);
        Assert.Equal(2, env.Server.Requests.Count);
    }
}
