namespace DevOrchestrator.Features.Workflows;

/// <summary>A parsed workflow definition (built-in or from WORKFLOWS_DIR).</summary>
public sealed class WorkflowDefinition
{
    public required string Name { get; init; }
    public string? Description { get; init; }

    /// <summary><c>builtin</c> or the file it came from.</summary>
    public required string Source { get; init; }
    public IReadOnlyDictionary<string, object?> Variables { get; init; } = new Dictionary<string, object?>();
    public IReadOnlyList<WorkflowStepDefinition> Steps { get; init; } = [];
}
