using DevOrchestrator.Abstractions.Plugins;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DevOrchestrator.Features.Plugins;

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
