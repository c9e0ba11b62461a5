namespace DevOrchestrator.Abstractions;

public sealed record WorkflowProjectInfo(long Id, string Name, string? RepositoryUrl, string DefaultBranch, string? TestCommand)
{
    /// <summary>The integration mapping: the tracker project, chat channel and documentation space of the project.</summary>
    public string? JiraProjectKey { get; init; }
    public string? SlackChannel { get; init; }
    public string? ConfluenceSpaceKey { get; init; }
    public string? ConfluenceParentId { get; init; }

    /// <summary>Commands of the per-worktree setup phase (run with network, before the agent works).</summary>
    public IReadOnlyList<string> SetupCommands { get; init; } = [];

    /// <summary>The project's <c>sandbox_network</c>: its agents' and workflows' commands run with network (default: without).</summary>
    public bool SandboxNetwork { get; init; }
}
