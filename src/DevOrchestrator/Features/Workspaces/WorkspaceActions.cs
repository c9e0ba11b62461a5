using System.Text;
using System.Text.RegularExpressions;
using DevOrchestrator.Abstractions;
using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Features.Effects;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Workspaces;

/// <summary>
/// The built-in <c>workspace</c> action set (workflow steps <c>plugin: workspace</c>; not a vendor plugin): a git worktree per workflow execution, made from a cached mirror of the
/// project's repository (<c>prepare</c>; a finished execution's worktree recycled from the mirror's
/// <see cref="WorkspacePool"/> when there is one), then the per-worktree setup phase (<see cref="WorkspaceSetup"/>);
/// sandboxed commands in it with the project's package caches (<c>run_command</c>); <c>commit</c> and
/// <c>push</c> of the task branch to the project's repository. Each action can be rolled back.
/// </summary>
public sealed partial class WorkspaceActions(
    IOptions<WorkspaceOptions> workspaceOptions,
    IOptions<SandboxOptions> sandboxOptions,
    GitCli git,
    Sandbox sandbox,
    MirrorLocks locks,
    WorkspacePool pool,
    IEnumerable<IVersionControlPlugin> codeHosts,
    ILogger<WorkspaceActions> logger,
    ExternalEffects? effects = null,
    WorkspaceSetup? setup = null,
    SecretScanner? secretScanner = null) : IWorkflowActions
{
    private readonly WorkspaceSetup _setup = setup ?? new WorkspaceSetup(workspaceOptions, sandbox, git, Microsoft.Extensions.Logging.Abstractions.NullLogger<WorkspaceSetup>.Instance);

    // Without the host (tests, benchmarks): the known formats only, no values of the service's own.
    private readonly SecretScanner _secretScanner = secretScanner ?? new SecretScanner(workspaceOptions, git,
        new HeldSecrets(new ConfigurationBuilder().Build(), []), Microsoft.Extensions.Logging.Abstractions.NullLogger<SecretScanner>.Instance);

    /// <summary>Findings named in a blocked step's error (all of them are in its outputs).</summary>
    private const int FindingsInMessage = 20;

    public const string Name = "workspace";
    public const string BotName = "DevOrchestrator";
    public const string BotEmail = "devorch@localhost";

    /// <summary>The longest a <c>run_command</c> step may ask for (a day).</summary>
    private const long MaxCommandTimeoutSeconds = 86_400;

    /// <summary>Files never committed (DESIGN: protected patterns).</summary>
    public static readonly IReadOnlyList<string> ProtectedPatterns = [".env", "*.key", "*.pem", "id_rsa*", "*.pfx"];

    private static readonly ProtectedFiles s_protectedFiles = new(ProtectedPatterns);

    private static readonly Dictionary<string, WorkflowActionDescriptor> s_actions = new(StringComparer.Ordinal)
    {
        ["prepare"] = new("Clone (via a cached mirror) the project's repository into a worktree on the task branch (continuing from the branch when it was pushed before, unless continue_branch is false), then run the setup phase once (the project's setup_commands or the repository's .devorch/setup.sh, with network; setup: false skips it).", [], ["branch", "base_branch", "branch_prefix", "continue_branch", "setup"])
        {
            InputTypes = new Dictionary<string, WorkflowInputType> { ["continue_branch"] = WorkflowInputType.Boolean, ["setup"] = WorkflowInputType.Boolean },
        },
        ["run_command"] = new("Run a shell command in the sandbox inside the worktree.", ["command"], ["timeout_seconds", "workdir", "allow_failure"])
        {
            InputTypes = new Dictionary<string, WorkflowInputType> { ["timeout_seconds"] = WorkflowInputType.PositiveNumber, ["allow_failure"] = WorkflowInputType.Boolean },
        },
        ["commit"] = new("Commit every change in the worktree (protected files excluded); a secret in the added lines blocks the commit (SECRET_SCAN_ENABLED).", [], ["message"]),
        ["push"] = new("Push the task branch to the project's repository; a secret in a commit not yet on the remote blocks the push (SECRET_SCAN_ENABLED).", [], ["branch"]),
    };

    public string Plugin => Name;

    public IReadOnlyDictionary<string, WorkflowActionDescriptor> Actions => s_actions;

    public Task<IReadOnlyDictionary<string, object?>> InvokeAsync(string action, WorkflowActionContext context, CancellationToken cancellationToken) => action switch
    {
        "prepare" => PrepareAsync(context, cancellationToken),
        "run_command" => RunCommandAsync(context, cancellationToken),
        "commit" => CommitAsync(context, cancellationToken),
        "push" => PushAsync(context, cancellationToken),
        _ => throw new WorkflowActionException($"workspace has no action '{action}'"),
    };

    public async Task RollbackAsync(string action, WorkflowActionContext context, IReadOnlyDictionary<string, object?> outputs, CancellationToken cancellationToken)
    {
        var worktree = WorktreePath(context);
        switch (action)
        {
            case "prepare":
                if (Directory.Exists(worktree))
                {
                    // Back to the pool (cleaned, its branch deleted) or removed: either way the execution's path is gone.
                    var mirror = MirrorPath(RemoteUrl(context));
                    await using (await locks.AcquireAsync(mirror, cancellationToken))
                    {
                        await pool.ReleaseLockedAsync(mirror, worktree, cancellationToken);
                        if (Text(outputs, "branch") is { Length: > 0 } branch)
                        {
                            await git.RunAsync(mirror, ["branch", "-D", "--", branch], cancellationToken, allowFailure: true);
                        }
                    }

                    await pool.EnforceDiskLimitAsync(cancellationToken);
                }

                break;
            case "commit":
                if (outputs.TryGetValue("committed", out var committed) && committed is true && Text(outputs, "commit_sha") is { Length: > 0 } sha)
                {
                    var head = await git.RunAsync(worktree, ["rev-parse", "HEAD"], cancellationToken);
                    if (head.Output == sha)
                    {
                        await git.RunAsync(worktree, ["reset", "--hard", "HEAD~1"], cancellationToken);
                    }
                }

                break;
            case "push":
                if (outputs.TryGetValue("pushed", out var pushed) && pushed is true && Text(outputs, "branch") is { Length: > 0 } pushedBranch)
                {
                    var remote = RemoteUrl(context);
                    await git.RunAsync(worktree, ["push", remote, "--delete", pushedBranch], cancellationToken, config: RemoteConfig(remote));
                }

                break;
        }
    }

    private async Task<IReadOnlyDictionary<string, object?>> PrepareAsync(WorkflowActionContext context, CancellationToken cancellationToken)
    {
        var remote = RemoteUrl(context);
        var project = context.Project!;
        var baseBranch = context.GetString("base_branch") is { Length: > 0 } b ? b : project.DefaultBranch;
        var branch = context.GetString("branch") is { Length: > 0 } named
            ? named
            : (context.GetString("branch_prefix") is { Length: > 0 } prefix ? prefix : "devorch/") + $"task-{context.Task.Id}-{Slug(context.Task.Title)}";
        await CheckRefNameAsync(branch, "branch", cancellationToken);
        await CheckRefNameAsync(baseBranch, "base_branch", cancellationToken);

        var mirror = MirrorPath(remote);
        var worktree = WorktreePath(context);

        // Known without asking git again when this call made the worktree (the commit of the base after the fetch).
        string? madeBaseSha = null;
        await using (await locks.AcquireAsync(mirror, cancellationToken))
        {
            if (!Directory.Exists(mirror))
            {
                context.Progress?.Report($"cloning {GitCli.Redact(remote)}");
                var partial = mirror + ".partial-" + Guid.NewGuid().ToString("N");
                await git.RunAsync(null, ["clone", "--mirror", "--", remote, partial], cancellationToken, config: RemoteConfig(remote));

                // Keep upstream branches under refs/remotes/origin/, so that fetch --prune never touches task branches.
                await git.RunAsync(partial, ["config", "--unset", "remote.origin.mirror"], cancellationToken, allowFailure: true);
                await git.RunAsync(partial, ["config", "--replace-all", "remote.origin.fetch", "+refs/heads/*:refs/remotes/origin/*"], cancellationToken);
                await git.RunAsync(partial, ["config", "user.name", workspaceOptions.Value.GitAuthorName], cancellationToken);
                await git.RunAsync(partial, ["config", "user.email", workspaceOptions.Value.GitAuthorEmail], cancellationToken);
                Directory.Move(partial, mirror);
            }

            if (!Directory.Exists(worktree))
            {
                context.Progress?.Report("fetching");
                // Not gc --auto here, on every task's path, under the lock: the pool runs it when a worktree is released.
                await git.RunAsync(mirror, ["fetch", "--prune", "--no-auto-maintenance", "origin"], cancellationToken, config: RemoteConfig(remote));
                var baseRef = $"refs/remotes/origin/{baseBranch}";
                var exists = await git.RunAsync(mirror, ["rev-parse", "--verify", "--quiet", baseRef + "^{commit}"], cancellationToken, allowFailure: true);
                if (exists.ExitCode != 0)
                {
                    throw new WorkflowActionException($"the repository has no branch '{baseBranch}'");
                }

                // A task that runs again (feedback on its pull request) continues from its pushed branch.
                var startRef = baseRef;
                var pushed = $"refs/remotes/origin/{branch}";
                if (context.GetBoolean("continue_branch", absent: true) &&
                    (await git.RunAsync(mirror, ["rev-parse", "--verify", "--quiet", pushed + "^{commit}"], cancellationToken, allowFailure: true)).ExitCode == 0)
                {
                    startRef = pushed;
                    context.Progress?.Report($"continuing from the pushed branch {branch}");
                }

                await ReleaseEarlierWorktreeAsync(mirror, branch, context, cancellationToken);
                if (await pool.TryRecycleLockedAsync(mirror, worktree, branch, startRef, cancellationToken))
                {
                    context.Progress?.Report("recycled a pooled worktree");
                }
                else
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(worktree)!);
                    await git.RunAsync(mirror, ["worktree", "add", "--no-track", "-B", branch, worktree, startRef], cancellationToken);
                    await SetAuthorAsync(worktree, cancellationToken);
                }

                madeBaseSha = exists.Output;
            }
            else
            {
                context.Progress?.Report("reusing the existing worktree");
            }
        }

        var current = madeBaseSha is null ? (await git.RunAsync(worktree, ["rev-parse", "--abbrev-ref", "HEAD"], cancellationToken)).Output : branch;
        var baseSha = madeBaseSha ?? (await git.RunAsync(worktree, ["rev-parse", $"refs/remotes/origin/{baseBranch}"], cancellationToken)).Output;
        LogPrepared(logger, context.Task.Id, current, worktree);
        var setupOutcome = !context.GetBoolean("setup", absent: true)
            ? new SetupOutcome("skipped", null, 0, TimeSpan.Zero)
            : await _setup.RunAsync(project, worktree, baseSha, context.Progress, cancellationToken);
        return new Dictionary<string, object?>
        {
            ["worktree"] = worktree,
            ["branch"] = current,
            ["base_branch"] = baseBranch,
            ["base_sha"] = baseSha,
            ["setup"] = setupOutcome.Status,
            ["setup_source"] = setupOutcome.Source,
            ["setup_duration_ms"] = (long)setupOutcome.Duration.TotalMilliseconds,
        };
    }

    private async Task<IReadOnlyDictionary<string, object?>> RunCommandAsync(WorkflowActionContext context, CancellationToken cancellationToken)
    {
        var command = context.RequireString("command");
        var worktree = RequireWorktree(context);
        var workdir = worktree;
        if (context.GetString("workdir") is { Length: > 0 } relative)
        {
            if (Path.IsPathRooted(relative) || relative.Split('/', '\\').Contains(".."))
            {
                throw new WorkflowActionException($"workdir '{relative}' must be a path inside the worktree (no '..', not absolute)");
            }

            workdir = Path.GetFullPath(Path.Combine(worktree, relative));
            if (!workdir.StartsWith(worktree + Path.DirectorySeparatorChar, StringComparison.Ordinal) || !Directory.Exists(workdir))
            {
                throw new WorkflowActionException($"workdir '{relative}' is not a directory inside the worktree");
            }
        }

        var timeoutSeconds = context.GetNumber("timeout_seconds", WorkflowInputType.PositiveNumber) ?? sandboxOptions.Value.SandboxTimeoutSeconds;
        if (timeoutSeconds > MaxCommandTimeoutSeconds)
        {
            throw new WorkflowActionException($"input 'timeout_seconds' must be at most {MaxCommandTimeoutSeconds} (a day; got {timeoutSeconds})");
        }

        var allowFailure = context.GetBoolean("allow_failure", absent: false);
        context.Progress?.Report("$ " + command);
        var sandboxed = new SandboxCommand(command, worktree, workdir, TimeSpan.FromSeconds(timeoutSeconds)) { Network = context.Project?.SandboxNetwork == true };
        var result = await sandbox.RunAsync(context.Project is { } project ? PackageCaches.For(workspaceOptions.Value, project.Id).Apply(sandboxed) : sandboxed, cancellationToken);
        var outputs = new Dictionary<string, object?>
        {
            ["exit_code"] = result.ExitCode,
            ["stdout"] = result.Stdout,
            ["stderr"] = result.Stderr,
            ["timed_out"] = result.TimedOut,
            ["duration_ms"] = (long)result.Duration.TotalMilliseconds,
            ["sandbox"] = result.Mode,
        };
        if (result.TimedOut)
        {
            throw new WorkflowActionException($"command timed out after {timeoutSeconds}s") { Outputs = outputs };
        }

        if (result.ExitCode != 0 && !allowFailure)
        {
            var tail = result.Stderr.Length > 0 ? result.Stderr : result.Stdout;
            tail = tail.Length > 2000 ? tail[^2000..] : tail;
            tail = tail.Trim();
            var hint = NetworkFailure.Seen(result) ? " — " + NetworkFailure.Hint : string.Empty;
            throw new WorkflowActionException($"command exited with code {result.ExitCode}{(tail.Length > 0 ? ": " + tail : string.Empty)}{hint}") { Outputs = outputs };
        }

        return outputs;
    }

    private async Task<IReadOnlyDictionary<string, object?>> CommitAsync(WorkflowActionContext context, CancellationToken cancellationToken)
    {
        var worktree = RequireWorktree(context);
        await git.RunAsync(worktree, ["add", "-A"], cancellationToken);
        var staged = (await git.RunAsync(worktree, ["diff", "--cached", "--name-only", "-z"], cancellationToken)).Stdout
            .Split('\0', StringSplitOptions.RemoveEmptyEntries);
        var protectedFiles = staged.Where(IsProtected).ToList();
        if (protectedFiles.Count > 0)
        {
            await git.RunAsync(worktree, ["reset", "-q", "--", .. protectedFiles], cancellationToken);
            context.Progress?.Report($"not committing protected files: {string.Join(", ", protectedFiles)}");
        }

        var files = staged.Except(protectedFiles).ToList();
        var outputs = new Dictionary<string, object?>
        {
            ["committed"] = false,
            ["commit_sha"] = null,
            ["files_changed"] = files.Count,
            ["files"] = files.Take(200).ToList<object?>(),
            ["protected_files_skipped"] = protectedFiles.ToList<object?>(),
        };
        if (files.Count == 0)
        {
            outputs["commit_sha"] = (await git.RunAsync(worktree, ["rev-parse", "HEAD"], cancellationToken)).Output;
            // Nothing new, but a commit that no remote branch has yet (this step committed before its worker died, and
            // runs again on resume) is still this task's change to push.
            var onRemote = (await git.RunAsync(worktree, ["for-each-ref", "--count=1", "--contains", "HEAD", "refs/remotes"], cancellationToken)).Output;
            if (onRemote.Length == 0)
            {
                outputs["committed"] = true;
                outputs["already_committed"] = true;
            }

            return outputs;
        }

        if (_secretScanner.Enabled)
        {
            context.Progress?.Report("scanning the change for secrets");
            var scan = await _secretScanner.ScanStagedAsync(worktree, SecretScanner.BaseRef(context), cancellationToken);
            RecordScan("commit", scan, context, outputs);
        }

        var message = context.GetString("message") is { Length: > 0 } m ? m : $"DevOrchestrator: {context.Task.Title}";
        await git.RunAsync(worktree, ["-c", $"user.name={workspaceOptions.Value.GitAuthorName}", "-c", $"user.email={workspaceOptions.Value.GitAuthorEmail}", "commit", "--no-verify", "-q", "-m", message], cancellationToken);
        outputs["committed"] = true;
        outputs["commit_sha"] = (await git.RunAsync(worktree, ["rev-parse", "HEAD"], cancellationToken)).Output;
        return outputs;
    }

    private async Task<IReadOnlyDictionary<string, object?>> PushAsync(WorkflowActionContext context, CancellationToken cancellationToken)
    {
        var worktree = RequireWorktree(context);
        var remote = RemoteUrl(context);
        var branch = context.GetString("branch") is { Length: > 0 } named
            ? named
            : (await git.RunAsync(worktree, ["rev-parse", "--abbrev-ref", "HEAD"], cancellationToken)).Output;
        await CheckRefNameAsync(branch, "branch", cancellationToken);
        var sha = (await git.RunAsync(worktree, ["rev-parse", "HEAD"], cancellationToken)).Output;
        var scanned = new Dictionary<string, object?>();
        if (_secretScanner.Enabled)
        {
            // Every commit the push would send, also those an agent's own command made (not only the commit step's).
            context.Progress?.Report("scanning the commits to push for secrets");
            var scan = await _secretScanner.ScanUnpushedAsync(worktree, SecretScanner.BaseRef(context), cancellationToken);
            RecordScan("push", scan, context, scanned);
        }

        context.Progress?.Report($"pushing {branch}");
        async Task<PushedBranch> PushAsync(CancellationToken ct)
        {
            await git.RunAsync(worktree, ["push", "--", remote, $"HEAD:refs/heads/{branch}"], ct, config: RemoteConfig(remote));
            return new PushedBranch(branch, sha);
        }

        async Task<PushedBranch?> FindAsync(CancellationToken ct)
        {
            // An earlier attempt whose outcome is unknown: the remote branch at this commit means it went through.
            var listed = await git.RunAsync(worktree, ["ls-remote", "--", remote, $"refs/heads/{branch}"], ct, allowFailure: true, config: RemoteConfig(remote));
            return listed.ExitCode == 0 && listed.Output.StartsWith(sha, StringComparison.Ordinal) ? new PushedBranch(branch, sha) : null;
        }

        // Recorded like every external write (when the service records them; a push of the same commit is harmless anyway).
        if (effects is null)
        {
            await PushAsync(cancellationToken);
        }
        else
        {
            await effects.OnceAsync(ExternalEffects.Key(context.Task.Id, "push", $"{branch}:{sha}"), context.Task.Id, "git", "push", FindAsync, PushAsync, cancellationToken);
        }

        // As git push does for a tracked branch: the mirror now knows the remote has this commit (commit relies on it).
        await git.RunAsync(worktree, ["update-ref", $"refs/remotes/origin/{branch}", sha], cancellationToken, allowFailure: true);
        scanned["pushed"] = true;
        scanned["branch"] = branch;
        scanned["commit_sha"] = sha;
        scanned["remote"] = GitCli.Redact(remote);
        return scanned;
    }

    /// <summary>
    /// Records a secret scan in the step's outputs and throws when it found anything: the error lists each finding as
    /// <c>path:line rule</c> with its fingerprint (for the allow-list), never the value.
    /// </summary>
    private void RecordScan(string action, SecretScanResult scan, WorkflowActionContext context, Dictionary<string, object?> outputs)
    {
        outputs["secret_scan"] = scan.Findings.Count == 0 ? "passed" : "blocked";
        outputs["secret_scan_allowed"] = scan.Allowed;
        outputs["secret_scan_truncated_files"] = scan.TruncatedFiles.Take(200).ToList<object?>();
        if (scan.Findings.Count == 0)
        {
            return;
        }

        var findings = scan.Findings.Select(f => (object?)new Dictionary<string, object?>
        {
            ["file"] = f.File,
            ["line"] = f.Line,
            ["rule"] = f.Rule,
            ["fingerprint"] = f.Fingerprint,
            ["commit"] = f.Commit,
        }).Take(200).ToList();
        outputs["secret_findings"] = findings;
        var listed = string.Join("; ", scan.Findings.Take(FindingsInMessage).Select(f => $"{f.Location} [fingerprint {f.Fingerprint}]"));
        var more = scan.Findings.Count > FindingsInMessage ? $"; and {scan.Findings.Count - FindingsInMessage} more" : string.Empty;
        LogBlocked(logger, context.Task.Id, action, scan.Findings.Count, string.Join("; ", scan.Findings.Take(FindingsInMessage).Select(f => f.Location)));
        throw new WorkflowActionException(
            $"secret scan blocked the {action}: {scan.Findings.Count} possible secret{(scan.Findings.Count == 1 ? "" : "s")} — {listed}{more}. " +
            $"Remove {(scan.Findings.Count == 1 ? "it" : "them")} from the change (read credentials from the environment instead); a false positive is let through by adding its fingerprint " +
            $"(or a path glob) to {SecretScanAllowList.FilePath} on the base branch.")
        { Outputs = outputs };
    }

    /// <summary>The worktree of a workflow execution: <c>WORKSPACES_DIR/tasks/task-{id}-{execution}</c>.</summary>
    public string WorktreePath(WorkflowActionContext context) => WorktreePath(context.Task.Id, context.WorkflowExecutionId);

    public string WorktreePath(long taskId, long workflowExecutionId) => pool.WorktreePath(taskId, workflowExecutionId);

    /// <summary>The cached mirror of a repository: <c>WORKSPACES_DIR/mirrors/{sha256(url)[..16]}.git</c>.</summary>
    public string MirrorPath(string remoteUrl) => pool.MirrorPath(remoteUrl);

    private string RequireWorktree(WorkflowActionContext context)
    {
        var worktree = WorktreePath(context);
        return Directory.Exists(worktree)
            ? worktree
            : throw new WorkflowActionException("there is no workspace for this execution: run workspace.prepare first");
    }

    /// <summary>The project's repository: a local path made absolute, or a URL as given.</summary>
    private static string RemoteUrl(WorkflowActionContext context)
    {
        var url = context.Project?.RepositoryUrl;
        if (string.IsNullOrWhiteSpace(url))
        {
            throw new WorkflowActionException("the task's project has no repository_url");
        }

        var looksLikeUrl = url.Contains("://", StringComparison.Ordinal) || Regex.IsMatch(url, @"^[\w.\-]+@[\w.\-]+:");
        return looksLikeUrl ? url : Path.GetFullPath(url);
    }

    /// <summary>
    /// The code host's credentials for one git command against <paramref name="remoteUrl"/> (from the configured
    /// version-control plugin that serves it), passed in that command's environment; never stored in any config file.
    /// </summary>
    private IReadOnlyList<KeyValuePair<string, string>> RemoteConfig(string remoteUrl) =>
        codeHosts.FirstOrDefault(h => h.IsConfigured && h.Handles(remoteUrl))?.GitConfigFor(remoteUrl) ?? [];

    /// <summary>
    /// A task that runs again (feedback on its pull request) gets a new worktree; the branch may still be checked out in
    /// the worktree of the task's earlier, finished run (not released yet) — release that one to the pool (its work was
    /// committed and pushed). A worktree of another task holding the branch is an error.
    /// </summary>
    /// <summary>
    /// The commit author in the mirror's config (shared by its worktrees), written only when it differs: every write
    /// replaces the config file (git's lock and rename), and a sandboxed command starting at that moment in another
    /// worktree of the mirror binds its URL-free copy over that file — bubblewrap then fails with "Can't bind mount".
    /// </summary>
    private async Task SetAuthorAsync(string worktree, CancellationToken cancellationToken)
    {
        foreach (var (key, value) in new[] { ("user.name", workspaceOptions.Value.GitAuthorName), ("user.email", workspaceOptions.Value.GitAuthorEmail) })
        {
            var current = await git.RunAsync(worktree, ["config", "--get", key], cancellationToken, allowFailure: true);
            if (current.ExitCode != 0 || current.Stdout.Trim() != value)
            {
                await git.RunAsync(worktree, ["config", key, value], cancellationToken);
            }
        }
    }

    private async Task ReleaseEarlierWorktreeAsync(string mirror, string branch, WorkflowActionContext context, CancellationToken cancellationToken)
    {
        var list = await git.RunAsync(mirror, ["worktree", "list", "--porcelain"], cancellationToken);
        if (list.Stdout.Split('\n').Any(l => l.StartsWith("prunable", StringComparison.Ordinal)))
        {
            // A worktree directory deleted behind git's back: forget it (its branch would otherwise stay "checked out").
            await git.RunAsync(mirror, ["worktree", "prune"], cancellationToken);
            list = await git.RunAsync(mirror, ["worktree", "list", "--porcelain"], cancellationToken);
        }

        string? path = null;
        foreach (var line in list.Stdout.Split('\n'))
        {
            if (line.StartsWith("worktree ", StringComparison.Ordinal))
            {
                path = line["worktree ".Length..];
            }
            else if (line == "branch refs/heads/" + branch && path is not null)
            {
                var own = Path.Combine(Path.GetFullPath(workspaceOptions.Value.WorkspacesDir), "tasks", $"task-{context.Task.Id}-");
                if (!path.StartsWith(own, StringComparison.Ordinal))
                {
                    throw new WorkflowActionException($"branch '{branch}' is checked out in another workspace ({Path.GetFileName(path)})");
                }

                context.Progress?.Report($"releasing the earlier run's worktree {Path.GetFileName(path)}");
                await pool.ReleaseLockedAsync(mirror, path, cancellationToken);
            }
        }
    }

    private async Task CheckRefNameAsync(string name, string input, CancellationToken cancellationToken)
    {
        if (name.StartsWith('-') || (await git.RunAsync(null, ["check-ref-format", "--branch", name], cancellationToken, allowFailure: true)).ExitCode != 0)
        {
            throw new WorkflowActionException($"{input} '{name}' is not a valid branch name");
        }
    }

    internal static bool IsProtected(string path) => s_protectedFiles.IsProtected(path);

    /// <summary>A branch-safe slug of a title: lower-case letters, digits and dashes, at most 40 characters.</summary>
    internal static string Slug(string title)
    {
        var builder = new StringBuilder();
        foreach (var c in title.ToLowerInvariant())
        {
            if (c is >= 'a' and <= 'z' or >= '0' and <= '9')
            {
                builder.Append(c);
            }
            else if (builder.Length > 0 && builder[^1] != '-')
            {
                builder.Append('-');
            }

            if (builder.Length >= 40)
            {
                break;
            }
        }

        var slug = builder.ToString().Trim('-');
        return slug.Length > 0 ? slug : "work";
    }

    private static string? Text(IReadOnlyDictionary<string, object?> outputs, string key) =>
        outputs.TryGetValue(key, out var value) ? value?.ToString() : null;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId}: the secret scan blocked the {Action}: {Count} findings ({Locations})")]
    private static partial void LogBlocked(ILogger logger, long taskId, string action, int count, string locations);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId}: workspace ready on {Branch} at {Worktree}")]
    private static partial void LogPrepared(ILogger logger, long taskId, string branch, string worktree);
}
