namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>Where request outcomes and circuit changes are reported (the host counts them in Prometheus).</summary>
public interface IPluginTelemetry
{
    /// <summary>One call (after its retries) ended with <paramref name="outcome"/> (see <see cref="PluginOutcomes"/>).</summary>
    void RequestCompleted(string plugin, string outcome);

    void CircuitChanged(string plugin, PluginCircuitState state);
}
