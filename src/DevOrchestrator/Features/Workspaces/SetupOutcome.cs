namespace DevOrchestrator.Features.Workspaces;

/// <summary>What the setup phase did: <c>none</c> (nothing to run), <c>ran</c> or <c>already_done</c>.</summary>
public sealed record SetupOutcome(string Status, string? Source, int Commands, TimeSpan Duration);
