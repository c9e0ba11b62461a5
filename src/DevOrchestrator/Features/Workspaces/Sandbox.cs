using DevOrchestrator.Hosting;

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

public sealed record SandboxResult(int ExitCode, string Stdout, string Stderr, bool TimedOut, bool OutputTruncated, TimeSpan Duration, string Mode);

/// <summary>
/// Runs commands outside the service's process context (DESIGN: agents never run commands in the server's own
/// process): a separate process in its own session, a scrubbed environment (PATH, HOME and TMPDIR in a fresh temporary
/// directory, LANG, TERM; none of the service's variables), a time limit, capped output, and — with bubblewrap — no
/// network, a read-only root, its own PID namespace and only the workspace writable.
/// SANDBOX_MODE: <c>auto</c> uses bubblewrap when a trial run works, else a plain process; <c>bubblewrap</c> requires
/// it; <c>process</c> never uses it.
/// </summary>
public sealed partial class Sandbox(DevOrchestratorSettings settings, TimeProvider timeProvider, ILogger<Sandbox> logger) : IDisposable
{
    public const string BubblewrapMode = "bubblewrap";
    public const string ProcessMode = "process";

    private readonly SemaphoreSlim _probeGate = new(1, 1);
    private string? _mode;
    private string? _bwrap;

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

            if (settings.SandboxMode == ProcessMode)
            {
                return _mode = ProcessMode;
            }

            _bwrap = ChildProcess.FindProgram("bwrap");
            var failure = _bwrap is null ? "bwrap is not installed" : await ProbeAsync(_bwrap, cancellationToken);
            if (failure is null)
            {
                LogMode(logger, BubblewrapMode);
                return _mode = BubblewrapMode;
            }

            if (settings.SandboxMode == BubblewrapMode)
            {
                throw new InvalidOperationException($"SANDBOX_MODE=bubblewrap but bubblewrap does not work here: {failure}");
            }

            LogBubblewrapUnavailable(logger, failure);
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
        var home = Path.Combine(Path.GetFullPath(settings.WorkspacesDir), "sandbox", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(home);
        try
        {
            var start = mode == BubblewrapMode
                ? new ChildProcessStart
                {
                    FileName = _bwrap!,
                    Arguments = [.. BubblewrapArguments(workspace, home, command), "/bin/sh", "-c", command.Command],
                    Environment = CommandEnvironment(home, command),
                    Timeout = command.Timeout,
                    OutputLimitBytes = settings.SandboxOutputLimitBytes,
                }
                : new ChildProcessStart
                {
                    FileName = "/bin/sh",
                    Arguments = ["-c", command.Command],
                    WorkingDirectory = command.WorkingDirectory,
                    Environment = CommandEnvironment(home, command),
                    Timeout = command.Timeout,
                    OutputLimitBytes = settings.SandboxOutputLimitBytes,
                };
            var result = await ChildProcess.RunAsync(start, timeProvider, cancellationToken);
            return new SandboxResult(result.ExitCode, result.Stdout, result.Stderr, result.TimedOut, result.OutputTruncated, result.Duration, mode);
        }
        finally
        {
            TryDelete(home);
        }
    }

    /// <summary>The whole environment of a sandboxed command. Nothing else of the service's environment is passed.</summary>
    internal static Dictionary<string, string> ScrubbedEnvironment(string home) => new(StringComparer.Ordinal)
    {
        ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ["HOME"] = home,
        ["TMPDIR"] = home,
        ["LANG"] = "C.UTF-8",
        ["TERM"] = "dumb",
    };

    private static Dictionary<string, string> CommandEnvironment(string home, SandboxCommand command)
    {
        var environment = ScrubbedEnvironment(home);
        foreach (var (name, value) in command.Environment)
        {
            environment[name] = value;
        }

        return environment;
    }

    private static List<string> BubblewrapArguments(string workspace, string home, SandboxCommand command)
    {
        List<string> arguments = command.Network ? [] : ["--unshare-net"];
        arguments.AddRange(
        [
            "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--new-session",
            "--ro-bind", "/", "/",
            "--dev", "/dev",
            "--proc", "/proc",
            "--tmpfs", "/tmp",
            "--bind", workspace, workspace,
            "--bind", home, home,
        ]);
        foreach (var directory in command.WritableDirectories)
        {
            var full = Path.GetFullPath(directory);
            Directory.CreateDirectory(full);
            arguments.AddRange(["--bind", full, full]);
        }

        arguments.AddRange(["--chdir", command.WorkingDirectory]);
        return arguments;
    }

    private async Task<string?> ProbeAsync(string bwrap, CancellationToken cancellationToken)
    {
        var scratch = Path.Combine(Path.GetFullPath(settings.WorkspacesDir), "sandbox", "probe-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(scratch);
        try
        {
            var result = await ChildProcess.RunAsync(new ChildProcessStart
            {
                FileName = bwrap,
                Arguments = [.. BubblewrapArguments(scratch, scratch, new SandboxCommand("echo sandbox-ok", scratch, scratch, TimeSpan.FromSeconds(10))), "/bin/sh", "-c", "echo sandbox-ok"],
                Environment = ScrubbedEnvironment(scratch),
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox mode: {Mode}")]
    private static partial void LogMode(ILogger logger, string mode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Bubblewrap is not usable ({Reason}); sandboxed commands run as plain processes without network isolation")]
    private static partial void LogBubblewrapUnavailable(ILogger logger, string reason);
}
