namespace DevOrchestrator.Features.Agents.Prompts;

/// <summary>A template as <c>devorch prompts list</c> shows it: its definition and where its effective text comes from.</summary>
public sealed record PromptListing(PromptDefinition Definition, string Source)
{
    public string Name => Definition.Name;
    public string Kind => Definition.Kind;
}
