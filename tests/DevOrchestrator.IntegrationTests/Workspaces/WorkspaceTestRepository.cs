using System.Diagnostics;
using DevOrchestrator.Abstractions;
using DevOrchestrator.Features.Workspaces;
using DevOrchestrator.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.IntegrationTests.Workspaces;

/// <summary>A temporary directory with a bare git repository (branch main, one commit) standing in for a project's remote.</summary>
internal sealed class WorkspaceTestRepository : IDisposable
{
    private WorkspaceTestRepository(string root)
    {
        Root = root;
        Bare = Path.Combine(root, "remote.git");
        Settings = new DevOrchestratorOptions
        {
            Workspaces = { WorkspacesDir = Path.Combine(root, "workspaces"), PackageCacheDir = Path.Combine(root, "package-caches") },
            Workflows = { WorkflowsDir = Path.Combine(root, "workflows") },
            Database = { DatabaseUrl = Path.Combine(root, "devorch.db") },
            Sandbox = { SandboxTimeoutSeconds = 60, SandboxOutputLimitBytes = 4096 },
        };
    }

    public string Root { get; }
    public string Bare { get; }
    public DevOrchestratorOptions Settings { get; }

    public static async Task<WorkspaceTestRepository> CreateAsync(CancellationToken cancellationToken)
    {
        var repository = new WorkspaceTestRepository(Path.Combine(Path.GetTempPath(), "devorch-ws-" + Guid.NewGuid().ToString("N")[..12]));
        var seed = Path.Combine(repository.Root, "seed");
        Directory.CreateDirectory(seed);
        await GitAsync(repository.Root, cancellationToken, "init", "-q", "--bare", "-b", "main", repository.Bare);
        await GitAsync(seed, cancellationToken, "init", "-q", "-b", "main");
        await File.WriteAllTextAsync(Path.Combine(seed, "README.md"), "# demo\n", cancellationToken);
        await GitAsync(seed, cancellationToken, "add", "-A");
        await GitAsync(seed, cancellationToken, "commit", "-q", "-m", "initial");
        await GitAsync(seed, cancellationToken, "push", "-q", repository.Bare, "main:refs/heads/main");
        return repository;
    }

    /// <summary>Adds a commit on main of the remote (as another developer would).</summary>
    public async Task<string> PushUpstreamCommitAsync(string file, CancellationToken cancellationToken)
    {
        var seed = Path.Combine(Root, "seed");
        await File.WriteAllTextAsync(Path.Combine(seed, file), "upstream\n", cancellationToken);
        await GitAsync(seed, cancellationToken, "add", "-A");
        await GitAsync(seed, cancellationToken, "commit", "-q", "-m", "upstream " + file);
        await GitAsync(seed, cancellationToken, "push", "-q", Bare, "main:refs/heads/main");
        return await GitAsync(seed, cancellationToken, "rev-parse", "HEAD");
    }

    /// <summary><c>git --git-dir=remote.git args…</c>; returns (exit code, trimmed stdout).</summary>
    public async Task<(int ExitCode, string Output)> RemoteAsync(CancellationToken cancellationToken, params string[] args)
    {
        var (code, output, _) = await RunGitAsync(Root, ["--git-dir=" + Bare, .. args], cancellationToken);
        return (code, output);
    }

    public IWorkflowActions CreatePlugin() => CreatePlugin(CreatePool());

    public IWorkflowActions CreatePlugin(WorkspacePool pool) => new WorkspaceActions(
        Options.Create(Settings.Workspaces),
        Options.Create(Settings.Sandbox),
        new GitCli(Options.Create(Settings.Workspaces), TimeProvider.System),
        CreateSandbox(),
        Locks,
        pool,
        [],
        NullLogger<WorkspaceActions>.Instance);

    /// <summary>The mirror locks every plugin and pool of this repository share (as the service's singleton).</summary>
    public MirrorLocks Locks { get; } = new(TimeProvider.System);

    public WorkspacePool CreatePool() =>
        new(Options.Create(Settings.Workspaces), new GitCli(Options.Create(Settings.Workspaces), TimeProvider.System), Locks, TimeProvider.System, NullLogger<WorkspacePool>.Instance);

    public Sandbox CreateSandbox() =>
        new(Options.Create(Settings.Sandbox), Options.Create(Settings.Workspaces), Options.Create(Settings.Server), TimeProvider.System, NullLogger<Sandbox>.Instance);

    public static async Task<string> GitAsync(string directory, CancellationToken cancellationToken, params string[] args)
    {
        var (code, output, error) = await RunGitAsync(directory, args, cancellationToken);
        return code == 0 ? output : throw new InvalidOperationException($"git {string.Join(' ', args)} failed: {error}");
    }

    private static async Task<(int, string, string)> RunGitAsync(string directory, string[] args, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("git") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["GIT_AUTHOR_NAME"] = info.Environment["GIT_COMMITTER_NAME"] = "Test";
        info.Environment["GIT_AUTHOR_EMAIL"] = info.Environment["GIT_COMMITTER_EMAIL"] = "test@example.com";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, (await stdout).Trim(), (await stderr).Trim());
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
        catch (UnauthorizedAccessException)
        {
            // Best effort.
        }
    }
}
