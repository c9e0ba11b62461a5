using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>
/// The per-plugin circuit breakers, rate limiters and vendor pauses of this process (shared by all of a plugin's
/// clients). With <paramref name="shared"/> (Redis, when <c>REDIS_URL</c> is set) they are the fleet's: the breakers,
/// limiters and pauses ask it first and fall back to this process's state when it cannot answer.
/// </summary>
public sealed class PluginResilienceState(PluginResilienceOptions options, TimeProvider timeProvider, IPluginTelemetry? telemetry = null, ISharedResilienceState? shared = null)
{
    /// <summary>The longest pause a vendor's <c>Retry-After</c> may ask for.</summary>
    public static readonly TimeSpan MaxPause = TimeSpan.FromHours(1);

    private readonly ConcurrentDictionary<string, PluginCircuitBreaker> _breakers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RateLimiter> _limiters = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _pausedUntil = new(StringComparer.Ordinal);

    public PluginResilienceOptions Options { get; } = options;

    public IPluginTelemetry? Telemetry { get; } = telemetry;

    /// <summary>The fleet's state when the host has one (Redis), else null.</summary>
    public ISharedResilienceState? Shared { get; } = shared;

    public PluginCircuitBreaker Breaker(string plugin) =>
        _breakers.GetOrAdd(plugin, name => new PluginCircuitBreaker(name, Options, timeProvider, Telemetry, Shared));

    /// <summary>The breakers made so far (a plugin that never called out has none).</summary>
    public IReadOnlyCollection<PluginCircuitBreaker> Breakers => _breakers.Values.ToArray();

    /// <summary>
    /// A token bucket of <paramref name="requestsPerSecond"/> (callers wait in line rather than fail); with a shared
    /// state, a budget of the fleet that falls back to this process's bucket.
    /// </summary>
    public RateLimiter Limiter(string plugin, double requestsPerSecond) => _limiters.GetOrAdd(plugin, name =>
    {
        var perSecond = Math.Max(requestsPerSecond, 0.01);
        var period = perSecond >= 1 ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(1 / perSecond);
        var tokensPerPeriod = perSecond >= 1 ? (int)Math.Ceiling(perSecond) : 1;
        var local = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = tokensPerPeriod,
            TokensPerPeriod = tokensPerPeriod,
            ReplenishmentPeriod = period,
            QueueLimit = 100_000,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
        return Shared is null ? local : new SharedRateLimiter(name, perSecond, tokensPerPeriod, local, Shared, timeProvider);
    });

    /// <summary>Waits while <paramref name="vendor"/> is paused (by a 429 seen on any replica when shared).</summary>
    public async ValueTask WaitWhilePausedAsync(string vendor, CancellationToken cancellationToken)
    {
        var wait = TimeSpan.Zero;
        var asked = false;
        if (Shared is not null)
        {
            try
            {
                wait = await Shared.PausedForAsync(vendor, cancellationToken).ConfigureAwait(false);
                asked = true;
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                // Unreachable: this process's own pause rules.
            }
        }

        if (!asked && _pausedUntil.TryGetValue(vendor, out var until))
        {
            wait = until - timeProvider.GetUtcNow();
        }

        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Pauses <paramref name="vendor"/> for <paramref name="duration"/> (at most <see cref="MaxPause"/>) in this process and, when shared, the fleet.</summary>
    public async ValueTask PauseAsync(string vendor, TimeSpan duration)
    {
        if (duration <= TimeSpan.Zero)
        {
            return;
        }

        duration = duration > MaxPause ? MaxPause : duration;
        var until = timeProvider.GetUtcNow() + duration;
        _pausedUntil.AddOrUpdate(vendor, until, (_, current) => current > until ? current : until);
        if (Shared is not null)
        {
            try
            {
                await Shared.PauseAsync(vendor, duration, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Unreachable: the pause holds in this process only.
            }
        }
    }
}
