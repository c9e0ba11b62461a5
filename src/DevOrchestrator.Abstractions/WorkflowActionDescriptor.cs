namespace DevOrchestrator.Abstractions;

/// <summary>What a workflow validator needs to know about an action.</summary>
public sealed record WorkflowActionDescriptor(string Description, IReadOnlyList<string> RequiredInputs, IReadOnlyList<string> OptionalInputs)
{
    /// <summary>The inputs that are not text, checked when a workflow is loaded and read with the typed getters.</summary>
    public IReadOnlyDictionary<string, WorkflowInputType> InputTypes { get; init; } = new Dictionary<string, WorkflowInputType>();
}
