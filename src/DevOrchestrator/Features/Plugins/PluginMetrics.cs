using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Features.Health;

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
