using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Features.Plugins;
using DevOrchestrator.Hosting;
using DevOrchestrator.IntegrationTests.Infrastructure;
using DevOrchestrator.IntegrationTests.Plugins.GitHub;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace DevOrchestrator.IntegrationTests.Plugins;

/// <summary>
/// The fleet's circuits, rate budgets and pauses on a real Redis: two <see cref="PluginResilienceState"/>s, each with its
/// own Redis connection, stand for two processes; each test has its own key prefix.
/// </summary>
public sealed class SharedResilienceStateTests
{
    private static readonly PluginResilienceOptions s_rules = new()
    {
        CircuitBreakerThreshold = 3,
        BreakDuration = TimeSpan.FromSeconds(1),
        SuccessesToClose = 2,
        AttemptTimeout = TimeSpan.FromSeconds(5),
    };

    private sealed class Replica(string url, string prefix, PluginResilienceOptions rules, RecordingPluginTelemetry? telemetry = null) : IAsyncDisposable
    {
        public RedisConnection Connection { get; } = new(url, prefix);

        public RedisResilienceState Store => field ??= new RedisResilienceState(Connection, TimeProvider.System, NullLogger<RedisResilienceState>.Instance);

        public PluginResilienceState State => field ??= new PluginResilienceState(rules, TimeProvider.System, telemetry, Store);

        public ValueTask DisposeAsync() => Connection.DisposeAsync();
    }

    private static string Prefix() => "devorch-test-" + Guid.NewGuid().ToString("N")[..12] + ":";

    [Fact]
    public async Task A_circuit_opened_by_one_process_is_open_in_the_other_one_trial_at_a_time_and_closed_everywhere_after_successes()
    {
        var ct = TestContext.Current.CancellationToken;
        var url = await TestDatabases.RequireRedisAsync();
        var prefix = Prefix();
        var telemetry = new RecordingPluginTelemetry();
        await using var one = new Replica(url, prefix, s_rules);
        await using var two = new Replica(url, prefix, s_rules, telemetry);
        var first = one.State.Breaker("github");
        var second = two.State.Breaker("github");

        for (var i = 0; i < 3; i++)
        {
            Assert.True((await first.TryEnterAsync(ct)).Allowed);
            await first.RecordAsync(success: false);
        }

        Assert.Equal(PluginCircuitState.Open, first.State);
        Assert.Equal(PluginCircuitState.Closed, second.State); // nothing asked yet
        var refused = await second.TryEnterAsync(ct);
        Assert.False(refused.Allowed);
        Assert.InRange(refused.RetryAfter, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1));
        Assert.Equal(PluginCircuitState.Open, second.State);
        Assert.Contains(("github", PluginCircuitState.Open), telemetry.CircuitChanges); // the gauge of the process that saw no failure

        await Task.Delay(TimeSpan.FromSeconds(1.2), ct);
        Assert.True((await second.TryEnterAsync(ct)).Allowed); // the half-open trial
        var other = await first.TryEnterAsync(ct);
        Assert.False(other.Allowed); // one trial at a time, fleet-wide
        Assert.Equal(PluginCircuitState.HalfOpen, first.State);
        await second.RecordAsync(success: true);

        Assert.True((await first.TryEnterAsync(ct)).Allowed); // the second trial, by the other process
        await first.RecordAsync(success: true);
        Assert.Equal(PluginCircuitState.Closed, first.State);
        Assert.True((await second.TryEnterAsync(ct)).Allowed);
        Assert.Equal(PluginCircuitState.Closed, second.State);
        Assert.Contains(("github", PluginCircuitState.Closed), telemetry.CircuitChanges);
    }

    [Fact]
    public async Task A_failed_trial_opens_the_circuit_again_for_both()
    {
        var ct = TestContext.Current.CancellationToken;
        var url = await TestDatabases.RequireRedisAsync();
        var prefix = Prefix();
        await using var one = new Replica(url, prefix, s_rules);
        await using var two = new Replica(url, prefix, s_rules);
        var first = one.State.Breaker("jira");
        var second = two.State.Breaker("jira");
        for (var i = 0; i < 3; i++)
        {
            await (i % 2 == 0 ? first : second).RecordAsync(success: false); // failures seen by either count together
        }

        Assert.False((await first.TryEnterAsync(ct)).Allowed);
        await Task.Delay(TimeSpan.FromSeconds(1.2), ct);
        Assert.True((await first.TryEnterAsync(ct)).Allowed);
        await first.RecordAsync(success: false);

        Assert.False((await second.TryEnterAsync(ct)).Allowed);
        Assert.Equal(PluginCircuitState.Open, second.State);
    }

    [Fact]
    public async Task A_success_between_failures_on_another_process_resets_the_count()
    {
        var ct = TestContext.Current.CancellationToken;
        var url = await TestDatabases.RequireRedisAsync();
        var prefix = Prefix();
        await using var one = new Replica(url, prefix, s_rules);
        await using var two = new Replica(url, prefix, s_rules);
        var first = one.State.Breaker("slack");
        var second = two.State.Breaker("slack");

        await first.RecordAsync(success: false);
        await first.RecordAsync(success: false);
        await second.RecordAsync(success: true);
        await first.RecordAsync(success: false);
        await first.RecordAsync(success: false);

        Assert.True((await second.TryEnterAsync(ct)).Allowed);
        Assert.Equal(PluginCircuitState.Closed, second.State);
    }

    [Fact]
    public async Task The_rate_is_a_budget_of_both_processes_and_callers_wait_their_turn()
    {
        var ct = TestContext.Current.CancellationToken;
        var url = await TestDatabases.RequireRedisAsync();
        var prefix = Prefix();
        await using var one = new Replica(url, prefix, s_rules);
        await using var two = new Replica(url, prefix, s_rules);
        const double PerSecond = 5;
        var limiters = new[] { one.State.Limiter("confluence", PerSecond), two.State.Limiter("confluence", PerSecond) };
        var granted = new List<DateTimeOffset>();

        var started = DateTimeOffset.UtcNow;
        await Task.WhenAll(Enumerable.Range(0, 30).Select(async i =>
        {
            using var lease = await limiters[i % 2].AcquireAsync(1, ct);
            Assert.True(lease.IsAcquired);
            lock (granted)
            {
                granted.Add(DateTimeOffset.UtcNow);
            }
        }));

        // 30 permits at 5/s with a burst of 5: the last one no earlier than 5 s after the start (per-process buckets
        // would have granted both halves in 2 s); and no second holds more than the rate plus the burst.
        Assert.Equal(30, granted.Count);
        Assert.True(granted.Max() - started >= TimeSpan.FromSeconds(4.9), $"all 30 permits in {(granted.Max() - started).TotalSeconds:F2}s");
        var sorted = granted.Order().ToArray();
        foreach (var at in sorted)
        {
            Assert.InRange(sorted.Count(t => t >= at && t < at + TimeSpan.FromSeconds(1)), 1, 10);
        }
    }

    [Fact]
    public async Task A_pause_set_by_one_process_holds_the_other_and_pushes_its_rate_slots_past_the_end()
    {
        var ct = TestContext.Current.CancellationToken;
        var url = await TestDatabases.RequireRedisAsync();
        var prefix = Prefix();
        await using var one = new Replica(url, prefix, s_rules);
        await using var two = new Replica(url, prefix, s_rules);

        await one.State.PauseAsync("github", TimeSpan.FromSeconds(2));

        var left = await two.Store.PausedForAsync("github", ct);
        Assert.InRange(left, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        Assert.InRange(await two.Store.ReserveAsync("github", 100, 1, ct), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        Assert.Equal(TimeSpan.Zero, await two.Store.PausedForAsync("slack", ct));

        var before = DateTimeOffset.UtcNow;
        await two.State.WaitWhilePausedAsync("github", ct);
        Assert.True(DateTimeOffset.UtcNow - before >= left - TimeSpan.FromMilliseconds(100), "the other process did not wait for the pause");
        Assert.Equal(TimeSpan.Zero, await one.Store.PausedForAsync("github", ct));
    }

    [Fact]
    public async Task A_429_with_Retry_After_seen_by_one_process_pauses_the_vendor_for_the_other()
    {
        var ct = TestContext.Current.CancellationToken;
        var url = await TestDatabases.RequireRedisAsync();
        var prefix = Prefix();
        await using var calling = new Replica(url, prefix, s_rules);
        await using var other = new Replica(url, prefix, s_rules);
        await using var env = await GitHubTestHost.StartAsync(ct, configureServices: services => services.AddSingleton<ISharedResilienceState>(calling.Store), createRepository: false);
        env.Server.Fail(429, pathContains: "/api/v3/user", retryAfter: TimeSpan.FromSeconds(5));

        var connecting = env.Plugin.ConnectAsync(ct);
        var pause = await HttpJson.EventuallyAsync(() => other.Store.PausedForAsync("github", ct), left => left > TimeSpan.Zero, TimeSpan.FromSeconds(30));
        await connecting;

        Assert.InRange(pause, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(5));
        Assert.Equal([429, 200], env.Server.RequestsTo("GET", "/api/v3/user").Select(r => r.StatusCode));
    }

    [Fact]
    public async Task Unreachable_Redis_falls_back_to_the_process_state_at_once()
    {
        var ct = TestContext.Current.CancellationToken;
        // Nothing listens on port 1.
        await using var alone = new Replica("redis://127.0.0.1:1", Prefix(), s_rules);
        var breaker = alone.State.Breaker("github");

        for (var i = 0; i < 3; i++)
        {
            Assert.True((await breaker.TryEnterAsync(ct)).Allowed);
            await breaker.RecordAsync(success: false);
        }

        Assert.False((await breaker.TryEnterAsync(ct)).Allowed);
        Assert.Equal(PluginCircuitState.Open, breaker.State);
        using var lease = await alone.State.Limiter("github", 100).AcquireAsync(1, ct);
        Assert.True(lease.IsAcquired);
        await alone.State.PauseAsync("github", TimeSpan.FromMilliseconds(300));
        var before = DateTimeOffset.UtcNow;
        await alone.State.WaitWhilePausedAsync("github", ct); // the process's own pause
        Assert.True(DateTimeOffset.UtcNow - before >= TimeSpan.FromMilliseconds(150));
        await Assert.ThrowsAnyAsync<Exception>(() => alone.Store.PausedForAsync("github", ct)); // the store says so (at once: not asked again for a while)
    }

    [Fact]
    public async Task When_Redis_returns_the_shared_state_resumes()
    {
        var ct = TestContext.Current.CancellationToken;
        await TestDatabases.RequireRedisAsync();
        await using var redis = await RedisServerProcess.StartAsync();
        var prefix = Prefix();
        await using var one = new Replica(redis.Url, prefix, s_rules);
        await using var two = new Replica(redis.Url, prefix, s_rules);
        var first = one.State.Breaker("github");
        var second = two.State.Breaker("github");
        Assert.True((await first.TryEnterAsync(ct)).Allowed);
        await first.RecordAsync(success: true);

        await redis.KillAsync();
        for (var i = 0; i < 3; i++)
        {
            await first.RecordAsync(success: false); // counted by this process alone
        }

        Assert.False((await first.TryEnterAsync(ct)).Allowed);
        Assert.True((await second.TryEnterAsync(ct)).Allowed); // the other process knows nothing of it

        await redis.RestartAsync();
        await HttpJson.EventuallyAsync(async () =>
        {
            try
            {
                // Both processes reconnect on their own (their next asks go to Redis again).
                await one.Store.PauseAsync("github", TimeSpan.FromMilliseconds(1), ct);
                await two.Store.PauseAsync("github", TimeSpan.FromMilliseconds(1), ct);
                return true;
            }
            catch (Exception)
            {
                return false;
            }
        }, back => back, TimeSpan.FromSeconds(30));
        for (var i = 0; i < 3; i++)
        {
            await first.RecordAsync(success: false);
        }

        Assert.False((await second.TryEnterAsync(ct)).Allowed);
        Assert.Equal(PluginCircuitState.Open, second.State);
    }
}
