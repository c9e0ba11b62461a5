namespace DevOrchestrator.Features.Agents.Prompts;

/// <summary>A prompt template: its name (the file name without <c>.liquid</c>), kind, the variables it is given and sample data to check it with.</summary>
public sealed record PromptDefinition(string Name, string Kind, string Description, IReadOnlyDictionary<string, string> Variables, IReadOnlyDictionary<string, object?> Sample)
{
    /// <summary>
    /// The variables (or members, <c>task.description</c>) holding third-party text: the template must print them
    /// through the <c>untrusted</c> filter (<see cref="UntrustedInput"/>), or it does not validate.
    /// </summary>
    public IReadOnlyList<string> Untrusted { get; init; } = [];
}
