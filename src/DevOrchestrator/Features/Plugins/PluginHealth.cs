using System.Collections.Concurrent;
using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Features.Health;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DevOrchestrator.Features.Plugins;

/// <summary>
/// Counts plugin calls (<c>plugin_requests_total{plugin,outcome}</c>) and circuit changes
/// (<c>circuit_breaker_state{plugin}</c>: 0 closed, 1 open, 2 half-open) in the host's Prometheus registry.
/// </summary>
public sealed class PluginMetrics(DevOrchestratorMetrics metrics) : IPluginTelemetry
{
    public void RequestCompleted(string plugin, string outcome) => metrics.PluginRequests.WithLabels(plugin, outcome).Inc();

    public void CircuitChanged(string plugin, PluginCircuitState state) => metrics.CircuitBreakerState.WithLabels(plugin).Set((int)state);
}

/// <summary>
/// One plugin's entry in <c>/health</c>: healthy and "not configured" when it has no settings; degraded when its
/// circuit is open or the vendor probe fails. The probe's answer is kept for 60 seconds so that frequent health checks
/// do not spend the vendor's rate limit.
/// </summary>
public sealed class PluginHealthCheck(string type, string name, PluginRegistry registry, PluginProbeCache cache, TimeProvider timeProvider) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (registry.Find(type, name) is not { } plugin)
        {
            return HealthCheckResult.Healthy("not registered");
        }

        var data = new Dictionary<string, object> { ["type"] = type, ["configured"] = plugin.IsConfigured };
        if (!plugin.IsConfigured)
        {
            return HealthCheckResult.Healthy("not configured", data);
        }

        var circuit = registry.CircuitState(plugin);
        data["circuit_state"] = PluginRegistry.StateName(circuit);
        if (circuit == PluginCircuitState.Open)
        {
            var until = registry.OpenUntil(plugin);
            return HealthCheckResult.Degraded($"circuit open after repeated failures{(until is { } u ? $"; next trial at {u:O}" : "")}", data: data);
        }

        var probe = await cache.ProbeAsync(plugin, timeProvider, cancellationToken);
        foreach (var (key, value) in probe.Details ?? new Dictionary<string, object>())
        {
            data[key] = value;
        }

        return probe.Healthy ? HealthCheckResult.Healthy(probe.Message, data) : HealthCheckResult.Degraded(probe.Message, data: data);
    }
}

/// <summary>The last probe of each plugin, reused for 60 seconds.</summary>
public sealed class PluginProbeCache
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);
    private readonly ConcurrentDictionary<string, (DateTimeOffset At, Abstractions.Plugins.PluginHealth Health)> _last = new(StringComparer.Ordinal);

    public async Task<Abstractions.Plugins.PluginHealth> ProbeAsync(IPlugin plugin, TimeProvider timeProvider, CancellationToken cancellationToken, bool fresh = false)
    {
        var key = plugin.Type + "/" + plugin.Name;
        var now = timeProvider.GetUtcNow();
        if (!fresh && _last.TryGetValue(key, out var last) && now - last.At < Lifetime)
        {
            return last.Health;
        }

        Abstractions.Plugins.PluginHealth health;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_timeout);
        try
        {
            health = await plugin.CheckHealthAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            health = Abstractions.Plugins.PluginHealth.Failed($"no answer within {s_timeout.TotalSeconds:0}s");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            health = Abstractions.Plugins.PluginHealth.Failed(ex is PluginException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}");
        }

        _last[key] = (now, health);
        return health;
    }
}
