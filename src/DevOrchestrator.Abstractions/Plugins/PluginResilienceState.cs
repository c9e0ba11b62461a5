using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>The per-plugin circuit breakers and rate limiters of this process (shared by all of a plugin's clients).</summary>
public sealed class PluginResilienceState(PluginResilienceOptions options, TimeProvider timeProvider, IPluginTelemetry? telemetry = null)
{
    private readonly ConcurrentDictionary<string, PluginCircuitBreaker> _breakers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RateLimiter> _limiters = new(StringComparer.Ordinal);

    public PluginResilienceOptions Options { get; } = options;

    public IPluginTelemetry? Telemetry { get; } = telemetry;

    public PluginCircuitBreaker Breaker(string plugin) =>
        _breakers.GetOrAdd(plugin, name => new PluginCircuitBreaker(name, Options, timeProvider, Telemetry));

    /// <summary>The breakers made so far (a plugin that never called out has none).</summary>
    public IReadOnlyCollection<PluginCircuitBreaker> Breakers => _breakers.Values.ToArray();

    /// <summary>A token bucket of <paramref name="requestsPerSecond"/> (callers wait in line rather than fail).</summary>
    public RateLimiter Limiter(string plugin, double requestsPerSecond) => _limiters.GetOrAdd(plugin, _ =>
    {
        var perSecond = Math.Max(requestsPerSecond, 0.01);
        var period = perSecond >= 1 ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(1 / perSecond);
        var tokensPerPeriod = perSecond >= 1 ? (int)Math.Ceiling(perSecond) : 1;
        return new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = tokensPerPeriod,
            TokensPerPeriod = tokensPerPeriod,
            ReplenishmentPeriod = period,
            QueueLimit = 100_000,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
    });
}
