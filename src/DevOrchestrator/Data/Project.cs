namespace DevOrchestrator.Data;

public sealed class Project
{
    public long Id { get; set; }
    public required string Name { get; set; }
    public string? Description { get; set; }
    public string? RepositoryUrl { get; set; }
    public string DefaultBranch { get; set; } = "main";
    public List<string> TechStack { get; set; } = [];
    public string? TestCommand { get; set; }

    /// <summary>Commands of the per-worktree setup phase (with network, no secrets); see <c>WorkspaceSetup</c>.</summary>
    public List<string> SetupCommands { get; set; } = [];

    /// <summary>Opt-in: the agents' commands, test commands and workflow commands of this project's tasks run with network.</summary>
    public bool SandboxNetwork { get; set; }
    public string? JiraProjectKey { get; set; }
    public string? SlackChannel { get; set; }
    public string? ConfluenceSpaceKey { get; set; }
    public string? ConfluenceParentId { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}
