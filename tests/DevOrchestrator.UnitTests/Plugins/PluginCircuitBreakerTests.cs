using DevOrchestrator.Abstractions.Plugins;
using Microsoft.Extensions.Time.Testing;

namespace DevOrchestrator.UnitTests.Plugins;

/// <summary>The guide's breaker: N consecutive failures open it, one trial at a time after the break, two successes close it.</summary>
public sealed class PluginCircuitBreakerTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
    private readonly List<PluginCircuitState> _changes = [];

    private PluginCircuitBreaker Breaker(int threshold = 3) =>
        new("github", new PluginResilienceOptions { CircuitBreakerThreshold = threshold, BreakDuration = TimeSpan.FromSeconds(60), SuccessesToClose = 2 }, _time, new Changes(_changes));

    [Fact]
    public void Consecutive_failures_open_it_and_a_success_in_between_starts_the_count_again()
    {
        var breaker = Breaker();
        Fail(breaker);
        Fail(breaker);
        Succeed(breaker);
        Fail(breaker);
        Fail(breaker);
        Assert.Equal(PluginCircuitState.Closed, breaker.State);

        Fail(breaker);
        Assert.Equal(PluginCircuitState.Open, breaker.State);
        Assert.False(breaker.TryEnter(out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(60), retryAfter);
        Assert.Equal([PluginCircuitState.Open], _changes);
    }

    [Fact]
    public void After_the_break_one_trial_at_a_time_and_two_successes_close_it()
    {
        var breaker = Breaker(threshold: 1);
        Fail(breaker);
        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.False(breaker.TryEnter(out _));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(PluginCircuitState.HalfOpen, breaker.State);

        Assert.True(breaker.TryEnter(out _));
        Assert.False(breaker.TryEnter(out _)); // the trial is still out
        breaker.Record(success: true);
        Assert.Equal(PluginCircuitState.HalfOpen, breaker.State);
        Assert.True(breaker.TryEnter(out _));
        breaker.Record(success: true);
        Assert.Equal(PluginCircuitState.Closed, breaker.State);
        Assert.Equal([PluginCircuitState.Open, PluginCircuitState.HalfOpen, PluginCircuitState.Closed], _changes);
    }

    [Fact]
    public void A_failed_trial_opens_it_again_for_a_whole_break()
    {
        var breaker = Breaker(threshold: 1);
        Fail(breaker);
        _time.Advance(TimeSpan.FromSeconds(60));
        Assert.True(breaker.TryEnter(out _));
        breaker.Record(success: true);
        Assert.True(breaker.TryEnter(out _));
        breaker.Record(success: false);

        Assert.Equal(PluginCircuitState.Open, breaker.State);
        Assert.Equal(_time.GetUtcNow().AddSeconds(60), breaker.OpenUntil);
        Assert.False(breaker.TryEnter(out _));
    }

    private static void Fail(PluginCircuitBreaker breaker)
    {
        Assert.True(breaker.TryEnter(out _));
        breaker.Record(success: false);
    }

    private static void Succeed(PluginCircuitBreaker breaker)
    {
        Assert.True(breaker.TryEnter(out _));
        breaker.Record(success: true);
    }

    private sealed class Changes(List<PluginCircuitState> changes) : IPluginTelemetry
    {
        public void RequestCompleted(string plugin, string outcome)
        {
        }

        public void CircuitChanged(string plugin, PluginCircuitState state) => changes.Add(state);
    }
}
