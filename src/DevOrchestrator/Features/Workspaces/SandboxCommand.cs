namespace DevOrchestrator.Features.Workspaces;

/// <summary>A command to run in the sandbox: a shell command line, inside a workspace that is the only writable place.</summary>
public sealed record SandboxCommand(string Command, string Workspace, string WorkingDirectory, TimeSpan Timeout)
{
    /// <summary>Network access (only the per-worktree setup phase asks for it; every other command runs without).</summary>
    public bool Network { get; init; }

    /// <summary>More directories the command may write (per-project package caches), bound at the same path.</summary>
    public IReadOnlyList<string> WritableDirectories { get; init; } = [];

    /// <summary>More environment variables (package cache locations); never a service secret.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
}
