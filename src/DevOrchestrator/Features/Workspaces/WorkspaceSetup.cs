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
