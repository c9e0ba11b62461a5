using System.Security.Cryptography;
using System.Text;
using DevOrchestrator.Abstractions;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Workspaces;

/// <summary>
/// The per-worktree setup phase (as hosted coding agents have it): before the agent works, the project's
/// <c>setup_commands</c> — or, when the project has none, the repository's own <c>.devorch/setup.sh</c> as committed on
/// the base branch — run once in the fresh worktree, in the sandbox WITH network but with the same scrubbed environment
/// (no service secret), filling the project's package caches (<see cref="PackageCaches"/>). Every later sandboxed
/// command of the project gets the same caches without network, so <c>dotnet test</c>, <c>npm test</c> or
/// <c>pytest</c> work offline. "Once": a marker file in the worktree (ignored by git, removed when the pool recycles
/// the worktree) records the setup inputs that ran; a resumed task with the same inputs does not run them again.
/// </summary>
public sealed partial class WorkspaceSetup(IOptions<WorkspaceOptions> options, Sandbox sandbox, GitCli git, ILogger<WorkspaceSetup> logger)
{
    /// <summary>The repository's own setup script, read from the base branch's commit (never a version the agent wrote).</summary>
    public const string RepositoryScript = ".devorch/setup.sh";

    /// <summary>The marker of a worktree whose setup ran (its content: a hash of the setup inputs).</summary>
    public const string MarkerFile = ".devorch-setup.done";

    public const int MaxScriptBytes = 64 * 1024;

    public const string None = "none";
    public const string Ran = "ran";
    public const string AlreadyDone = "already_done";

    /// <summary>
    /// Runs the setup phase in <paramref name="worktree"/> unless it already ran there with the same inputs.
    /// Throws <see cref="WorkflowActionException"/> naming the failed command.
    /// </summary>
    public async Task<SetupOutcome> RunAsync(WorkflowProjectInfo project, string worktree, string baseCommit, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        var (commands, source) = await CommandsAsync(project, worktree, baseCommit, cancellationToken);
        if (commands.Count == 0)
        {
            return new SetupOutcome(None, null, 0, TimeSpan.Zero);
        }

        var fingerprint = Fingerprint(commands);
        var marker = Path.Combine(worktree, MarkerFile);
        await ExcludeMarkerAsync(worktree, cancellationToken);
        if (File.Exists(marker) && (await File.ReadAllTextAsync(marker, cancellationToken)).Trim() == fingerprint)
        {
            progress?.Report("setup: already done in this worktree");
            return new SetupOutcome(AlreadyDone, source, commands.Count, TimeSpan.Zero);
        }

        var caches = PackageCaches.For(options.Value, project.Id);
        var timeout = TimeSpan.FromSeconds(options.Value.SetupTimeoutSeconds);
        var total = TimeSpan.Zero;
        progress?.Report($"setup: {commands.Count} command(s) from {source}, with network, package caches in {caches.Root}");
        foreach (var command in commands)
        {
            progress?.Report("setup: $ " + FirstLine(command));
            var result = await sandbox.RunAsync(caches.Apply(new SandboxCommand(command, worktree, worktree, timeout) { Network = true }), cancellationToken);
            total += result.Duration;
            if (result.TimedOut)
            {
                throw new WorkflowActionException($"setup command '{FirstLine(command)}' (from {source}) timed out after {options.Value.SetupTimeoutSeconds}s (SETUP_TIMEOUT_SECONDS)");
            }

            if (result.ExitCode != 0)
            {
                var tail = Tail(result.Stderr.Length > 0 ? result.Stderr : result.Stdout);
                LogSetupFailed(logger, project.Id, result.ExitCode);
                throw new WorkflowActionException($"setup command '{FirstLine(command)}' (from {source}) exited with code {result.ExitCode}{(tail.Length > 0 ? ": " + tail : string.Empty)}");
            }
        }

        await File.WriteAllTextAsync(marker, fingerprint + "\n", cancellationToken);
        progress?.Report($"setup: done in {total.TotalSeconds:0.#}s");
        LogSetupDone(logger, project.Id, commands.Count, (long)total.TotalMilliseconds);
        return new SetupOutcome(Ran, source, commands.Count, total);
    }

    /// <summary>The project's setup_commands when it has any, else the repository's script on the base commit, else none.</summary>
    private async Task<(IReadOnlyList<string> Commands, string? Source)> CommandsAsync(WorkflowProjectInfo project, string worktree, string baseCommit, CancellationToken cancellationToken)
    {
        if (project.SetupCommands.Count > 0)
        {
            return (project.SetupCommands, "the project's setup_commands");
        }

        var script = await git.RunAsync(worktree, ["cat-file", "blob", $"{baseCommit}:{RepositoryScript}"], cancellationToken, allowFailure: true);
        if (script.ExitCode != 0 || string.IsNullOrWhiteSpace(script.Stdout))
        {
            return ([], null);
        }

        if (Encoding.UTF8.GetByteCount(script.Stdout) > MaxScriptBytes)
        {
            throw new WorkflowActionException($"{RepositoryScript} is larger than {MaxScriptBytes / 1024} KiB; put the long parts in another file it runs");
        }

        // Passed to /bin/sh -c as it is: the script as committed, not a file the agent may have changed since.
        return ([script.Stdout], RepositoryScript);
    }

    /// <summary>The marker never shows in <c>git status</c> nor gets committed: excluded in the mirror's info/exclude.</summary>
    private async Task ExcludeMarkerAsync(string worktree, CancellationToken cancellationToken)
    {
        var common = (await git.RunAsync(worktree, ["rev-parse", "--path-format=absolute", "--git-common-dir"], cancellationToken)).Output;
        var exclude = Path.Combine(common, "info", "exclude");
        var line = "/" + MarkerFile;
        if (File.Exists(exclude) && (await File.ReadAllLinesAsync(exclude, cancellationToken)).Contains(line))
        {
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(exclude)!);
        await File.AppendAllTextAsync(exclude, "\n" + line + "\n", cancellationToken);
    }

    private static string Fingerprint(IReadOnlyList<string> commands) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\0", commands))));

    private static string FirstLine(string command)
    {
        var line = command.Trim().Split('\n', 2)[0].Trim();
        return line.Length > 200 ? line[..200] + "…" : line;
    }

    private static string Tail(string output)
    {
        var tail = output.Length > 2000 ? output[^2000..] : output;
        return tail.Trim();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Project {ProjectId}: setup ran {Commands} command(s) in {DurationMs} ms")]
    private static partial void LogSetupDone(ILogger logger, long projectId, int commands, long durationMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Project {ProjectId}: a setup command exited with code {ExitCode}")]
    private static partial void LogSetupFailed(ILogger logger, long projectId, int exitCode);
}

/// <summary>What the setup phase did: <c>none</c> (nothing to run), <c>ran</c> or <c>already_done</c>.</summary>
public sealed record SetupOutcome(string Status, string? Source, int Commands, TimeSpan Duration);

/// <summary>
/// A project's package caches: <c>PACKAGE_CACHE_DIR/project-{id}</c> (default <c>./package-caches</c>), bound
/// read-write into every sandboxed command of the project, with the package managers pointed at it: NuGet
/// (<c>NUGET_PACKAGES</c>, <c>NUGET_HTTP_CACHE_PATH</c>), npm (<c>npm_config_cache</c>), Yarn
/// (<c>YARN_CACHE_FOLDER</c>), pip (<c>PIP_CACHE_DIR</c>) and Go (<c>GOMODCACHE</c>). Commands without network also
/// get <c>npm_config_offline=true</c> and <c>GOPROXY=off</c>, so npm and Go use the cache at once instead of retrying
/// the network for minutes. One directory per project: one repository's packages never reach another's commands.
/// </summary>
public sealed record PackageCaches(string Root)
{
    public static PackageCaches For(WorkspaceOptions settings, long projectId) =>
        new(Path.Combine(Path.GetFullPath(settings.PackageCacheDir), "project-" + projectId.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>The caches of a project, or null for a command that belongs to no project.</summary>
    public static PackageCaches? For(WorkspaceOptions settings, long? projectId) => projectId is { } id ? For(settings, id) : null;

    public IReadOnlyDictionary<string, string> Environment(bool network)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["NUGET_PACKAGES"] = Path.Combine(Root, "nuget", "packages"),
            ["NUGET_HTTP_CACHE_PATH"] = Path.Combine(Root, "nuget", "http-cache"),
            ["NUGET_PLUGINS_CACHE_PATH"] = Path.Combine(Root, "nuget", "plugins-cache"),
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
            ["npm_config_cache"] = Path.Combine(Root, "npm"),
            ["npm_config_update_notifier"] = "false",
            ["YARN_CACHE_FOLDER"] = Path.Combine(Root, "yarn"),
            ["PIP_CACHE_DIR"] = Path.Combine(Root, "pip"),
            ["GOMODCACHE"] = Path.Combine(Root, "go", "mod"),
        };
        if (!network)
        {
            environment["npm_config_offline"] = "true";
            environment["GOPROXY"] = "off";
        }

        return environment;
    }

    /// <summary>The command with the caches bound and their variables set (its own variables win).</summary>
    public SandboxCommand Apply(SandboxCommand command)
    {
        var environment = new Dictionary<string, string>(Environment(command.Network), StringComparer.Ordinal);
        foreach (var (name, value) in command.Environment)
        {
            environment[name] = value;
        }

        return command with { WritableDirectories = [.. command.WritableDirectories, Root], Environment = environment };
    }
}

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
