namespace DevOrchestrator.Features.Agents.Prompts;

/// <summary>One problem of a template: the file (or <c>embedded:NAME.liquid</c>), the line (0 when unknown) and what is wrong.</summary>
public sealed record PromptProblem(string File, int Line, string Message)
{
    public override string ToString() => Line > 0 ? $"{File}:{Line}: {Message}" : $"{File}: {Message}";
}
