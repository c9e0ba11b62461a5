namespace DevOrchestrator.Features.Workflows;

/// <summary>A parsed workflow definition (built-in or from WORKFLOWS_DIR).</summary>
public sealed class WorkflowDefinition
{
    public required string Name { get; init; }
    public string? Description { get; init; }

    /// <summary><c>builtin</c> or the file it came from.</summary>
    public required string Source { get; init; }
    public IReadOnlyDictionary<string, object?> Variables { get; init; } = new Dictionary<string, object?>();

    /// <summary>The workflow's <c>agent_tools:</c>: the only tools its agents are offered (with finish); null offers them all.</summary>
    public IReadOnlyList<string>? AgentTools { get; init; }
    public IReadOnlyList<WorkflowStepDefinition> Steps { get; init; } = [];
}
