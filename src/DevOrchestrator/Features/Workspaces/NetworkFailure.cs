namespace DevOrchestrator.Features.Workspaces;

/// <summary>
/// Recognises a command that failed for lack of network (sandboxed commands other than the setup phase have none), by
/// the messages of the usual tools: NuGet (<c>NU1301</c>, "Unable to load the service index"), npm (<c>ENOTFOUND</c>,
/// <c>EAI_AGAIN</c>, <c>ENOTCACHED</c>), pip and others ("Temporary failure in name resolution", "Name or service not
/// known", "Could not resolve host", "Network is unreachable", "Failed to establish a new connection"), Go
/// ("GOPROXY=off"). A heuristic: it only adds a hint to a failure, it never decides one.
/// </summary>
public static class NetworkFailure
{
    private static readonly string[] s_signs =
    [
        "NU1301", "Unable to load the service index", "ENOTFOUND", "EAI_AGAIN", "ENOTCACHED", "getaddrinfo",
        "Temporary failure in name resolution", "Name or service not known", "Could not resolve host",
        "Network is unreachable", "Failed to establish a new connection", "No address associated with hostname",
        "module lookup disabled by GOPROXY=off",
    ];

    public const string Hint =
        "it looks like it needed the network, but sandboxed commands run without network. Restore dependencies in the " +
        "per-worktree setup phase, which runs once with network (no secrets) and fills the project's package caches: set " +
        "the project's setup_commands (e.g. [\"dotnet restore\"] or [\"npm ci\"]) or commit a .devorch/setup.sh to the " +
        "repository (docs/workflows.md, \"Setup phase\")";

    public static bool Seen(string output) => s_signs.Any(s => output.Contains(s, StringComparison.OrdinalIgnoreCase));

    public static bool Seen(SandboxResult result) => result.ExitCode != 0 && (Seen(result.Stderr) || Seen(result.Stdout));
}
