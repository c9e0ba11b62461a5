using DevOrchestrator.Hosting;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Workspaces;

/// <summary>
/// Runs commands outside the service's process context (DESIGN: agents never run commands in the server's own
/// process): a separate process in its own session, a scrubbed environment (PATH, HOME and TMPDIR in a fresh temporary
/// directory, LANG, TERM; none of the service's variables), a time limit, capped output, and — with bubblewrap — no
/// network, its own PID namespace and a filesystem built from an allow-list (<see cref="SandboxLayout"/>): system
/// directories and toolchains read-only, the worktree (and its git metadata, read-only) and a scratch home writable,
/// nothing else of the host; the service's data, other worktrees, homes and secret files are not there.
/// SANDBOX_MODE: <c>auto</c> uses bubblewrap when a trial run works, else a plain process (with a warning, and
/// <c>/health</c> degraded); <c>bubblewrap</c> requires it; <c>process</c> never uses it.
/// </summary>
public sealed partial class Sandbox(IOptions<SandboxOptions> options, IOptions<WorkspaceOptions> workspaces, IOptions<ServerOptions> server, TimeProvider timeProvider, ILogger<Sandbox> logger) : IDisposable
{
    public const string BubblewrapMode = "bubblewrap";
    public const string ProcessMode = "process";

    private readonly SemaphoreSlim _probeGate = new(1, 1);
    private SandboxLayout? _layout;
    private string? _mode;
    private string? _bwrap;

    /// <summary>The service's environment the layout is computed from (HOME, PATH, <c>*_FILE</c>, …); tests give their own.</summary>
    internal IReadOnlyDictionary<string, string> ServiceEnvironment { get; init; } = System.Environment.GetEnvironmentVariables()
        .Cast<System.Collections.DictionaryEntry>().ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? string.Empty, StringComparer.Ordinal);

    /// <summary>What a bubblewrap sandbox sees (computed once).</summary>
    internal SandboxLayout Layout => _layout ??= SandboxLayout.Create(options.Value, server.Value.FullDataDir, workspaces.Value.WorkspacesDir, ServiceEnvironment, Directory.GetCurrentDirectory());

    /// <summary>Why commands run as plain processes (the fallback), or null with bubblewrap or before the first probe.</summary>
    public string? FallbackReason { get; private set; }

    /// <summary>The mode in use (probing bubblewrap once, on first use).</summary>
    public async Task<string> GetModeAsync(CancellationToken cancellationToken)
    {
        if (_mode is { } known)
        {
            return known;
        }

        await _probeGate.WaitAsync(cancellationToken);
        try
        {
            if (_mode is not null)
            {
                return _mode;
            }

            if (options.Value.SandboxMode == ProcessMode)
            {
                FallbackReason = "SANDBOX_MODE=process";
                LogFallback(logger, FallbackReason);
                return _mode = ProcessMode;
            }

            _bwrap = ChildProcess.FindProgram("bwrap");
            var failure = _bwrap is null ? "bwrap is not installed" : await ProbeAsync(_bwrap, cancellationToken);
            if (failure is null)
            {
                LogMode(logger, BubblewrapMode);
                return _mode = BubblewrapMode;
            }

            if (options.Value.SandboxMode == BubblewrapMode)
            {
                throw new InvalidOperationException($"SANDBOX_MODE=bubblewrap but bubblewrap does not work here: {failure}");
            }

            FallbackReason = "bubblewrap is not usable: " + failure;
            LogFallback(logger, FallbackReason);
            return _mode = ProcessMode;
        }
        finally
        {
            _probeGate.Release();
        }
    }

    public async Task<SandboxResult> RunAsync(SandboxCommand command, CancellationToken cancellationToken)
    {
        var mode = await GetModeAsync(cancellationToken);
        var workspace = Path.GetFullPath(command.Workspace);
        var scratch = Path.Combine(Path.GetFullPath(workspaces.Value.WorkspacesDir), "sandbox", Guid.NewGuid().ToString("N"));
        var home = Path.Combine(scratch, "home");
        Directory.CreateDirectory(home);
        try
        {
            // Looked up once per command (it reads every mirror's worktree records): bound below, restored after.
            var gitMetadata = WorktreeGitMetadata(workspace);
            var start = mode == BubblewrapMode
                ? new ChildProcessStart
                {
                    FileName = _bwrap!,
                    Arguments = [.. BubblewrapArguments(workspace, scratch, command, gitMetadata), "/bin/sh", "-c", command.Command],
                    Environment = CommandEnvironment(home, command),
                    Timeout = command.Timeout,
                    OutputLimitBytes = options.Value.SandboxOutputLimitBytes,
                }
                : new ChildProcessStart
                {
                    FileName = "/bin/sh",
                    Arguments = ["-c", command.Command],
                    WorkingDirectory = command.WorkingDirectory,
                    Environment = CommandEnvironment(home, command),
                    Timeout = command.Timeout,
                    OutputLimitBytes = options.Value.SandboxOutputLimitBytes,
                };
            ChildProcessResult result;
            try
            {
                result = await ChildProcess.RunAsync(start, timeProvider, cancellationToken);
                // bubblewrap could not build the sandbox, so the command never started: a file bound into it was replaced
                // at that moment (e.g. git rewrote the mirror's config). Building it again is safe; at most twice more.
                for (var attempt = 2; attempt <= 3 && mode == BubblewrapMode && IsSetupFailure(result); attempt++)
                {
                    LogSetupRetry(logger, attempt, result.Stderr.Trim());
                    await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), timeProvider, cancellationToken);
                    result = await ChildProcess.RunAsync(start, timeProvider, cancellationToken);
                }
            }
            finally
            {
                if (gitMetadata is { } git)
                {
                    RestoreGitLink(workspace, git.GitDirectory);
                }
            }

            return new SandboxResult(result.ExitCode, result.Stdout, result.Stderr, result.TimedOut, result.OutputTruncated, result.Duration, mode);
        }
        finally
        {
            TryDelete(scratch);
        }
    }

    /// <summary>The whole environment of a sandboxed command. Nothing else of the service's environment is passed.</summary>
    internal static Dictionary<string, string> ScrubbedEnvironment(string home, string searchPath) => new(StringComparer.Ordinal)
    {
        ["PATH"] = searchPath,
        ["HOME"] = home,
        ["TMPDIR"] = home,
        ["LANG"] = "C.UTF-8",
        ["TERM"] = "dumb",
    };

    private Dictionary<string, string> CommandEnvironment(string home, SandboxCommand command)
    {
        var environment = ScrubbedEnvironment(home, Layout.SearchPath);
        foreach (var (name, value) in command.Environment)
        {
            environment[name] = value;
        }

        return environment;
    }

    private enum MountKind
    {
        Symlink,
        ReadOnly,
        Writable,
        HideDirectory,
        HideFile,
    }

    private sealed record Mount(string Path, MountKind Kind, string? Source = null)
    {
        public int Depth => Path.Count(c => c == '/');
    }

    /// <summary>
    /// bubblewrap's arguments for one command. The mounts go parents first (a bind inside a hidden directory comes after
    /// the tmpfs that hides it; a hidden path inside a bind after that bind), and a hidden path wins a tie. A hidden path
    /// is mounted over only where something around it is bound; elsewhere it does not exist inside at all.
    /// </summary>
    private List<string> BubblewrapArguments(string workspace, string scratch, SandboxCommand command, (string Mirror, string GitDirectory)? gitMetadata)
    {
        var layout = Layout;
        var home = Path.Combine(scratch, "home");
        var mounts = new List<Mount>();
        mounts.AddRange(layout.SystemSymlinks.Select(link => new Mount(link, MountKind.Symlink, new DirectoryInfo(link).LinkTarget)));
        mounts.AddRange(layout.ReadOnlyDirectories.Select(directory => new Mount(directory, MountKind.ReadOnly)));
        mounts.Add(new Mount("/var/tmp", MountKind.HideDirectory));
        mounts.Add(new Mount(workspace, MountKind.Writable));
        mounts.Add(new Mount(home, MountKind.Writable));
        foreach (var directory in command.WritableDirectories)
        {
            var full = Path.GetFullPath(directory);
            Directory.CreateDirectory(full);
            mounts.Add(new Mount(full, MountKind.Writable));
        }

        var hiddenDirectories = layout.HiddenDirectories.ToList();
        if (gitMetadata is { } git)
        {
            // git in a worktree of a mirror needs the mirror's objects and refs and the worktree's own metadata: read-only
            // (committing is the commit step's job, outside), without the other worktrees' metadata, and with a copy of
            // the mirror's config that has no remote URL (a token in repository_url would be in it).
            mounts.Add(new Mount(git.Mirror, MountKind.ReadOnly));
            hiddenDirectories.Add(Path.Combine(git.Mirror, "worktrees"));
            mounts.Add(new Mount(git.GitDirectory, MountKind.ReadOnly));
            var config = Path.Combine(git.Mirror, "config");
            if (File.Exists(config))
            {
                var copy = Path.Combine(scratch, "mirror-config");
                File.WriteAllLines(copy, File.ReadLines(config).Where(line => line.Split('=')[0].Trim().ToLowerInvariant() is not ("url" or "pushurl")));
                mounts.Add(new Mount(config, MountKind.ReadOnly, copy));
            }
        }

        var bound = mounts.Where(m => m.Kind is MountKind.ReadOnly or MountKind.Writable).Select(m => m.Path).ToList();
        mounts.AddRange(hiddenDirectories.Where(h => bound.Any(b => SandboxLayout.IsWithin(h, b))).Select(h => new Mount(h, MountKind.HideDirectory)));
        mounts.AddRange(layout.HiddenFiles.Where(f => File.Exists(f) && SandboxLayout.Visible(f, bound, hiddenDirectories)).Select(f => new Mount(f, MountKind.HideFile)));

        List<string> arguments = command.Network ? [] : ["--unshare-net"];
        arguments.AddRange(
        [
            "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--new-session",
            "--dev", "/dev",
            "--proc", "/proc",
            "--tmpfs", "/tmp",
        ]);
        foreach (var mount in mounts.OrderBy(m => m.Depth).ThenBy(m => m.Kind))
        {
            arguments.AddRange(mount.Kind switch
            {
                MountKind.Symlink => ["--symlink", mount.Source!, mount.Path],
                MountKind.ReadOnly => ["--ro-bind", mount.Source ?? mount.Path, mount.Path],
                MountKind.Writable => ["--bind", mount.Path, mount.Path],
                MountKind.HideDirectory => ["--tmpfs", mount.Path],
                _ => ["--ro-bind", "/dev/null", mount.Path],
            });
        }

        if (command.Network && ResolvConfTarget() is { } resolvConf)
        {
            // /etc/resolv.conf is often a link into /run (systemd-resolved), which is not bound: the name servers then.
            arguments.AddRange(["--ro-bind", resolvConf, resolvConf]);
        }

        arguments.AddRange(["--chdir", command.WorkingDirectory]);
        return arguments;
    }

    /// <summary>
    /// The mirror and the worktree's own git directory when <paramref name="workspace"/> is a worktree of one of our
    /// mirrors: the <c>WORKSPACES_DIR/mirrors/X.git/worktrees/NAME</c> whose <c>gitdir</c> file names this worktree's
    /// <c>.git</c>. Found from the mirrors' records, which commands cannot write, never from the worktree's own
    /// <c>.git</c> file, which they can (a rewritten one, or a FIFO in its place, must not choose what is bound).
    /// </summary>
    private (string Mirror, string GitDirectory)? WorktreeGitMetadata(string workspace)
    {
        var dotGit = Path.Combine(workspace, ".git");
        var mirrors = Path.Combine(Path.GetFullPath(workspaces.Value.WorkspacesDir), "mirrors");
        if (!Directory.Exists(mirrors))
        {
            return null;
        }

        foreach (var mirror in Directory.EnumerateDirectories(mirrors))
        {
            var worktrees = Path.Combine(mirror, "worktrees");
            try
            {
                foreach (var gitDirectory in Directory.Exists(worktrees) ? Directory.EnumerateDirectories(worktrees) : [])
                {
                    var backLink = Path.Combine(gitDirectory, "gitdir");
                    if (File.Exists(backLink) && Path.GetFullPath(File.ReadAllText(backLink).Trim(), gitDirectory) == dotGit)
                    {
                        return (mirror, gitDirectory);
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // A worktree moved or removed meanwhile (another task's prepare or release): not this one.
            }
        }

        return null;
    }

    /// <summary>
    /// Puts back the worktree's <c>.git</c> file as its mirror records it. A command can rewrite it (or put a link, a
    /// directory or a FIFO there); the service's own git — the commit step, the pool's release, outside any sandbox —
    /// follows it, and a <c>.git</c> pointing at a directory the command wrote could make that git run the command's
    /// programs (<c>core.fsmonitor</c> and the like) as the service.
    /// </summary>
    private static void RestoreGitLink(string workspace, string gitDirectory)
    {
        var dotGit = Path.Combine(workspace, ".git");
        var expected = $"gitdir: {gitDirectory}\n";
        var info = new FileInfo(dotGit);
        if (info.Exists && info.LinkTarget is null && info.Length == expected.Length && File.ReadAllText(dotGit) == expected)
        {
            return;
        }

        if (Directory.Exists(dotGit) && new DirectoryInfo(dotGit).LinkTarget is null)
        {
            Directory.Delete(dotGit, recursive: true);
        }
        else if (info.Exists || info.LinkTarget is not null)
        {
            File.Delete(dotGit);
        }

        File.WriteAllText(dotGit, expected);
    }

    private static string? ResolvConfTarget()
    {
        var target = new FileInfo("/etc/resolv.conf").ResolveLinkTarget(returnFinalTarget: true)?.FullName;
        return target is not null && File.Exists(target) && !SandboxLayout.IsWithin(target, "/etc") && !SandboxLayout.IsWithin(target, "/usr") ? target : null;
    }

    private async Task<string?> ProbeAsync(string bwrap, CancellationToken cancellationToken)
    {
        var scratch = Path.Combine(Path.GetFullPath(workspaces.Value.WorkspacesDir), "sandbox", "probe-" + Guid.NewGuid().ToString("N"));
        var home = Path.Combine(scratch, "home");
        Directory.CreateDirectory(home);
        try
        {
            var result = await ChildProcess.RunAsync(new ChildProcessStart
            {
                FileName = bwrap,
                Arguments = [.. BubblewrapArguments(home, scratch, new SandboxCommand("echo sandbox-ok", home, home, TimeSpan.FromSeconds(10)), gitMetadata: null), "/bin/sh", "-c", "echo sandbox-ok"],
                Environment = ScrubbedEnvironment(home, Layout.SearchPath),
                Timeout = TimeSpan.FromSeconds(10),
                OutputLimitBytes = 4096,
            }, timeProvider, cancellationToken);
            return result.ExitCode == 0 && result.Stdout.Contains("sandbox-ok", StringComparison.Ordinal)
                ? null
                : $"trial run exited {result.ExitCode}: {result.Stderr.Trim()}";
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return ex.Message;
        }
        finally
        {
            TryDelete(scratch);
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temporary directory is harmless.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }

    public void Dispose() => _probeGate.Dispose();

    /// <summary>bubblewrap's own failure to mount what the sandbox needs (its messages start with "bwrap: Can't").</summary>
    internal static bool IsSetupFailure(ChildProcessResult result) =>
        result.ExitCode != 0 && !result.TimedOut && result.Stderr.StartsWith("bwrap: Can't ", StringComparison.Ordinal);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The sandbox could not be set up ({Error}); building it again (attempt {Attempt} of 3)")]
    private static partial void LogSetupRetry(ILogger logger, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox mode: {Mode}")]
    private static partial void LogMode(ILogger logger, string mode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sandbox fallback in use ({Reason}): sandboxed commands run as plain processes with the service's user, network and filesystem; they can read DATA_DIR, every workspace, the user's home and other processes' environment (docs/workflows.md, The sandbox)")]
    private static partial void LogFallback(ILogger logger, string reason);
}
