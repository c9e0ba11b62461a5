namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>The shared answer about a circuit: its state, whether the call may go now, and when the break ends.</summary>
public readonly record struct SharedCircuit(PluginCircuitState State, bool Allowed, TimeSpan RetryAfter, TimeSpan OpenFor);
