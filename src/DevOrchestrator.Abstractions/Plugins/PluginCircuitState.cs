namespace DevOrchestrator.Abstractions.Plugins;

public enum PluginCircuitState
{
    Closed = 0,
    Open = 1,
    HalfOpen = 2,
}
