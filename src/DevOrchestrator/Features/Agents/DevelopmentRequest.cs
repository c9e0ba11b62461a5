using DevOrchestrator.Features.Costs;

namespace DevOrchestrator.Features.Agents;

/// <summary>One run of the development agent over a worktree.</summary>
public sealed record DevelopmentRequest
{
    public required ModelCallScope Scope { get; init; }
    public required long WorkflowExecutionId { get; init; }

    /// <summary>The conversation's checkpoint key (the step name).</summary>
    public required string Conversation { get; init; }
    public required string Worktree { get; init; }

    /// <summary>What to do: the task's title and description, as data.</summary>
    public required string Task { get; init; }

    /// <summary>Extra instructions of the workflow step (a prompt template's text).</summary>
    public string? Instructions { get; init; }

    /// <summary>A message to add before continuing (verification output, review feedback), once per id.</summary>
    public (string Id, string Text)? FollowUp { get; init; }
    public int MaxTurns { get; init; } = 40;
    public IProgress<string>? Progress { get; init; }
}
