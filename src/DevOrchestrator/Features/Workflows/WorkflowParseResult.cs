namespace DevOrchestrator.Features.Workflows;

/// <summary>The definition (when the file has no errors) and every error found.</summary>
public sealed record WorkflowParseResult(WorkflowDefinition? Definition, IReadOnlyList<WorkflowError> Errors)
{
    public bool IsValid => Errors.Count == 0 && Definition is not null;
}
