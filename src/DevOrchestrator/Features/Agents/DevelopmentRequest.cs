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

    /// <summary>Where the task came from (<c>api</c>, <c>jira</c>, <c>github</c>, <c>slack</c>…): the label of its untrusted block.</summary>
    public string TaskSource { get; init; } = "api";

    /// <summary>Extra instructions of the workflow step (a prompt template's text).</summary>
    public string? Instructions { get; init; }

    /// <summary>A message to add before continuing (verification output, review feedback), once per id.</summary>
    public (string Id, string Text)? FollowUp { get; init; }
    public int MaxTurns { get; init; } = 40;

    /// <summary>The tools offered (the step's <c>agent_tools</c>); null offers them all.</summary>
    public IReadOnlyList<string>? Tools { get; init; }

    /// <summary>Whether the agent's commands have network (the project's <c>sandbox_network</c>).</summary>
    public bool Network { get; init; }
    public IProgress<string>? Progress { get; init; }
}
