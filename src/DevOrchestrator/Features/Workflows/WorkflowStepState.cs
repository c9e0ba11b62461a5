namespace DevOrchestrator.Features.Workflows;

/// <summary>The state of a finished (or skipped) step, visible to later steps as <c>${steps.name.…}</c>.</summary>
public sealed record WorkflowStepState(string Status, IReadOnlyDictionary<string, object?> Outputs);
