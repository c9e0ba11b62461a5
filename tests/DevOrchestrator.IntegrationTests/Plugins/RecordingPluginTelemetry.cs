using System.Collections.Concurrent;
using DevOrchestrator.Abstractions.Plugins;

namespace DevOrchestrator.IntegrationTests.Plugins;

/// <summary>
/// The host's plugin telemetry, recorded: a test double of an interface the host implements (with Prometheus counters),
/// so that the plugin tests can see which outcomes and circuit changes the resilience pipeline reports.
/// </summary>
internal sealed class RecordingPluginTelemetry : IPluginTelemetry
{
    private readonly ConcurrentQueue<(string Plugin, string Outcome)> _outcomes = new();
    private readonly ConcurrentQueue<(string Plugin, PluginCircuitState State)> _circuitChanges = new();

    public IReadOnlyList<(string Plugin, string Outcome)> Outcomes => _outcomes.ToArray();

    public IReadOnlyList<(string Plugin, PluginCircuitState State)> CircuitChanges => _circuitChanges.ToArray();

    public void RequestCompleted(string plugin, string outcome) => _outcomes.Enqueue((plugin, outcome));

    public void CircuitChanged(string plugin, PluginCircuitState state) => _circuitChanges.Enqueue((plugin, state));
}
