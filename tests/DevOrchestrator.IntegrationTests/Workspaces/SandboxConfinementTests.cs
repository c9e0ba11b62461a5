using DevOrchestrator.Abstractions;
using DevOrchestrator.Features.Workspaces;
using DevOrchestrator.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.IntegrationTests.Workspaces;

/// <summary>
/// What a sandboxed command can see of the host (issue 11): none of the service's secrets — DATA_DIR, other worktrees,
/// the service user's home, <c>/root</c>, the directory of a <c>*_FILE</c> secret, <c>/etc/shadow</c>, the service's
/// environment — while the system, the toolchains, its own worktree (with git) and its scratch home work.
/// The directories are under <c>/var/tmp</c>, not <c>/tmp</c> (every sandbox gets a fresh <c>/tmp</c>, which would hide
/// them whatever else it did).
/// </summary>
public sealed class SandboxConfinementTests : IDisposable
{
    private readonly string _root = Path.Combine("/var/tmp", "devorch-sbxc-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly string _secret = "marker-" + Guid.NewGuid().ToString("N");

    private string DataDir => Path.Combine(_root, "data");
    private string WorkspacesDir => Path.Combine(_root, "ws");
    private string OwnWorktree => Path.Combine(WorkspacesDir, "tasks", "task-1-1");
    private string OtherWorktree => Path.Combine(WorkspacesDir, "tasks", "task-2-2");
    private string ServiceHome => Path.Combine(_root, "home", "devorch");
    private string SecretsDir => Path.Combine(_root, "secrets");
    private string Tools => Path.Combine(_root, "tools");

    /// <summary>Every file holding the secret, as the service would have them.</summary>
    private string[] SecretFiles =>
    [
        Path.Combine(DataDir, "jwt_secret"),
        Path.Combine(DataDir, "devorch.db"),
        Path.Combine(OtherWorktree, "work.txt"),
        Path.Combine(ServiceHome, ".ssh", "id_ed25519"),
        Path.Combine(ServiceHome, ".gitconfig"),
        Path.Combine(SecretsDir, "jwt"),
    ];

    public SandboxConfinementTests()
    {
        foreach (var file in SecretFiles)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllText(file, _secret + "\n");
        }

        Directory.CreateDirectory(OwnWorktree);
        Directory.CreateDirectory(Tools);
        File.WriteAllText(Path.Combine(Tools, "tool.txt"), "tool-visible\n");
    }

    /// <summary>The service's environment as the sandbox sees it: its home and a Docker-style secret file.</summary>
    private Dictionary<string, string> ServiceEnvironment() => new(StringComparer.Ordinal)
    {
        ["HOME"] = ServiceHome,
        ["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin",
        ["JWT_SECRET_KEY_FILE"] = Path.Combine(SecretsDir, "jwt"),
        ["JWT_SECRET_KEY"] = _secret,
    };

    private Sandbox CreateSandbox(string mode = "auto", string? readOnlyPaths = null) =>
        new(Options.Create(new SandboxOptions { SandboxMode = mode, SandboxReadOnlyPaths = readOnlyPaths, SandboxOutputLimitBytes = 65536 }),
            Options.Create(new WorkspaceOptions { WorkspacesDir = WorkspacesDir }), Options.Create(new ServerOptions { DataDir = DataDir }), TimeProvider.System, NullLogger<Sandbox>.Instance)
        { ServiceEnvironment = ServiceEnvironment() };

    private static async Task<Sandbox> BubblewrapOrSkipAsync(Sandbox sandbox)
    {
        if (await sandbox.GetModeAsync(TestContext.Current.CancellationToken) != Sandbox.BubblewrapMode)
        {
            Assert.Skip("bubblewrap is not usable on this machine");
        }

        return sandbox;
    }

    /// <summary>A shell script that prints whatever it can read of each path: a file's content, a directory's entries and <c>LISTED path</c> when it has any.</summary>
    private static string TryToRead(IEnumerable<string> paths) =>
        string.Join("; ", paths.Select(p => $"cat '{p}' 2>/dev/null; ls -A '{p}' 2>/dev/null; [ -d '{p}' ] && [ -n \"$(ls -A '{p}')\" ] && echo 'LISTED {p}'"));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheCommandCannotReadTheServicesSecretsButUsesItsWorktreeAndHome(bool allowTheWholeRootReadOnly)
    {
        // With the test root allowed read-only (as an operator might allow /opt or /srv), the hidden paths inside it are
        // hidden all the same, and the rest of it is visible.
        var sandbox = await BubblewrapOrSkipAsync(CreateSandbox(readOnlyPaths: allowTheWholeRootReadOnly ? _root : null));
        var hidden = SecretFiles.Concat([DataDir, OtherWorktree, ServiceHome, SecretsDir]);
        var script = TryToRead(hidden) + $"; ls -A '{Path.Combine(WorkspacesDir, "tasks")}'; cat /etc/shadow 2>/dev/null; " +
            "echo own > own.txt && echo WROTE-WORKTREE; echo home > \"$HOME/h.txt\" && echo WROTE-HOME; " +
            $"cat '{Path.Combine(Tools, "tool.txt")}' 2>/dev/null; sh -c 'echo SHELL-WORKS'";

        var result = await sandbox.RunAsync(new SandboxCommand(script, OwnWorktree, OwnWorktree, TimeSpan.FromSeconds(60)), TestContext.Current.CancellationToken);

        Assert.DoesNotContain(_secret, result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("LISTED", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("root:", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("task-2-2", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("WROTE-WORKTREE", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("WROTE-HOME", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("SHELL-WORKS", result.Stdout, StringComparison.Ordinal);
        Assert.Equal("own\n", await File.ReadAllTextAsync(Path.Combine(OwnWorktree, "own.txt"), TestContext.Current.CancellationToken));
        Assert.Equal(allowTheWholeRootReadOnly, result.Stdout.Contains("tool-visible", StringComparison.Ordinal));

        // /root exists inside at most as the parent of a toolchain bound from it (dotnet under /root/.dotnet): nothing else.
        var root = await sandbox.RunAsync(new SandboxCommand("ls -A /root 2>/dev/null", OwnWorktree, OwnWorktree, TimeSpan.FromSeconds(30)), TestContext.Current.CancellationToken);
        var toolchainsInRoot = sandbox.Layout.ReadOnlyDirectories.Where(d => d.StartsWith("/root/", StringComparison.Ordinal)).Select(d => d.Split('/')[2]).ToHashSet();
        Assert.Subset(toolchainsInRoot, root.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet());
    }

    [Fact]
    public async Task NoProcessInsideHoldsTheServicesEnvironment()
    {
        var sandbox = await BubblewrapOrSkipAsync(CreateSandbox());
        var result = await sandbox.RunAsync(new SandboxCommand("for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < $f; done; env", OwnWorktree, OwnWorktree, TimeSpan.FromSeconds(30)),
            TestContext.Current.CancellationToken);

        // The test process's own environment (what the service is started with): none of its entries is visible inside,
        // but for the few the sandbox sets itself.
        var mine = File.ReadAllText("/proc/self/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Where(e => e.Split('=')[0] is not ("PATH" or "HOME" or "TMPDIR" or "LANG" or "TERM" or "PWD" or "SHLVL" or "_" or "OLDPWD") && e.Length > e.IndexOf('=', StringComparison.Ordinal) + 6)
            .ToList();
        Assert.Equal(0, result.ExitCode);
        Assert.NotEmpty(mine);
        Assert.All(mine, entry => Assert.DoesNotContain(entry, result.Stdout, StringComparison.Ordinal));
        Assert.DoesNotContain(_secret, result.Stdout, StringComparison.Ordinal);
        Assert.Contains("LANG=C.UTF-8", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheFallbackHidesTheServicesEnvironmentAndSaysWhatItDoesNotProtect()
    {
        var sandbox = CreateSandbox("process");
        Environment.SetEnvironmentVariable("DEVORCH_SANDBOX_TEST_JWT_SECRET_KEY", _secret);
        SandboxResult result;
        try
        {
            result = await sandbox.RunAsync(new SandboxCommand("env; echo \"home=$HOME\"", OwnWorktree, OwnWorktree, TimeSpan.FromSeconds(30)), TestContext.Current.CancellationToken);
        }
        finally
        {
            Environment.SetEnvironmentVariable("DEVORCH_SANDBOX_TEST_JWT_SECRET_KEY", null);
        }

        Assert.Equal(Sandbox.ProcessMode, result.Mode);
        Assert.DoesNotContain(_secret, result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("home=" + ServiceHome, result.Stdout, StringComparison.Ordinal);
        Assert.Contains("home=" + Path.Combine(WorkspacesDir, "sandbox"), result.Stdout, StringComparison.Ordinal);
        Assert.Equal("SANDBOX_MODE=process", sandbox.FallbackReason);
    }

    [Fact]
    public async Task GitWorksInAPooledWorktreeWhileAnotherTasksWorktreeIsInvisible()
    {
        var ct = TestContext.Current.CancellationToken;
        using var repository = await WorkspaceTestRepository.CreateAsync(ct);
        var pool = repository.CreatePool();
        var plugin = repository.CreatePlugin(pool);
        var first = (string)(await plugin.InvokeAsync("prepare", Context(repository, 1, "first"), ct))["worktree"]!;
        Assert.True(await pool.ReleaseAsync(first, ct));
        var mine = (string)(await plugin.InvokeAsync("prepare", Context(repository, 2, "mine"), ct))["worktree"]!;
        Assert.Equal(1, pool.Recycled);
        var other = (string)(await plugin.InvokeAsync("prepare", Context(repository, 3, "other"), ct))["worktree"]!;
        await File.WriteAllTextAsync(Path.Combine(other, "other-work.txt"), _secret, ct);
        var mirror = Path.GetFullPath(Path.Combine(repository.Settings.Workspaces.WorkspacesDir, "mirrors"));

        var sandbox = await BubblewrapOrSkipAsync(repository.CreateSandbox());
        var result = await sandbox.RunAsync(new SandboxCommand(
            $"echo new > new.txt; git status --porcelain=v1 --branch && echo GIT-OK; git log --format=%s -1; git add new.txt 2>/dev/null || echo ADD-REFUSED; {TryToRead([other, Path.Combine(other, "other-work.txt")])}",
            mine, mine, TimeSpan.FromSeconds(60)), ct);

        Assert.Contains("GIT-OK", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("## devorch/mine", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("?? new.txt", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("initial", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("ADD-REFUSED", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(_secret, result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("LISTED", result.Stdout, StringComparison.Ordinal);

        // Only the worktree's own metadata is in the mirror's worktrees directory inside.
        var ownGitDirectory = File.ReadAllText(Path.Combine(mine, ".git")).Trim()["gitdir: ".Length..];
        var worktrees = await sandbox.RunAsync(new SandboxCommand($"ls -A {mirror}/*/worktrees", mine, mine, TimeSpan.FromSeconds(30)), ct);
        Assert.Equal([Path.GetFileName(ownGitDirectory)], worktrees.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(2, Directory.EnumerateDirectories(Path.GetDirectoryName(ownGitDirectory)!).Count());

        // A command rewrites its worktree's .git file to point at the other task's git metadata, or at a git directory
        // of its own making (whose config could make the service's git, outside, run its programs), or puts a FIFO
        // there: what is bound comes from the mirror's records, and the .git file is put back after each command.
        var dotGit = await File.ReadAllTextAsync(Path.Combine(mine, ".git"), ct);
        var otherGitDirectory = File.ReadAllText(Path.Combine(other, ".git")).Trim()["gitdir: ".Length..];
        await sandbox.RunAsync(new SandboxCommand($"printf 'gitdir: {otherGitDirectory}\\n' > .git", mine, mine, TimeSpan.FromSeconds(30)), ct);
        Assert.Equal(dotGit, await File.ReadAllTextAsync(Path.Combine(mine, ".git"), ct));
        var forged = await sandbox.RunAsync(new SandboxCommand($"printf 'gitdir: {otherGitDirectory}\\n' > .git; cat {otherGitDirectory}/HEAD; ls -A {mirror}/*/worktrees", mine, mine, TimeSpan.FromSeconds(30)), ct);
        Assert.DoesNotContain("devorch/other", forged.Stdout, StringComparison.Ordinal);
        Assert.Equal([Path.GetFileName(ownGitDirectory)], forged.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(dotGit, await File.ReadAllTextAsync(Path.Combine(mine, ".git"), ct));

        await sandbox.RunAsync(new SandboxCommand("rm .git && mkfifo .git", mine, mine, TimeSpan.FromSeconds(30)), ct);
        Assert.Equal(dotGit, await File.ReadAllTextAsync(Path.Combine(mine, ".git"), ct));
        await sandbox.RunAsync(new SandboxCommand("rm .git && mkdir -p .git/x && ln -s /etc .git/y", mine, mine, TimeSpan.FromSeconds(30)), ct);
        Assert.Equal(dotGit, await File.ReadAllTextAsync(Path.Combine(mine, ".git"), ct));
        await sandbox.RunAsync(new SandboxCommand("rm -r .git && ln -s /etc/hostname .git", mine, mine, TimeSpan.FromSeconds(30)), ct);
        Assert.Equal(dotGit, await File.ReadAllTextAsync(Path.Combine(mine, ".git"), ct));
        var committed = await plugin.InvokeAsync("commit", Context(repository, 2, "mine"), ct);
        Assert.Equal(true, committed["committed"]);
        Assert.Equal("devorch/mine", await WorkspaceTestRepository.GitAsync(mine, ct, "rev-parse", "--abbrev-ref", "HEAD"));
    }

    [Fact]
    public async Task ASetupCommandGetsTheNetworkMoreWritableDirectoriesAndEnvironmentItAsksFor()
    {
        var sandbox = await BubblewrapOrSkipAsync(CreateSandbox());
        var cache = Path.Combine(WorkspacesDir, "cache", "nuget");
        var result = await sandbox.RunAsync(new SandboxCommand("cat /proc/net/dev; echo cached > \"$NUGET_PACKAGES/p.txt\" && echo WROTE-CACHE", OwnWorktree, OwnWorktree, TimeSpan.FromSeconds(30))
        {
            Network = true,
            WritableDirectories = [cache],
            Environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = cache },
        }, TestContext.Current.CancellationToken);

        var interfaces = result.Stdout.Split('\n').Where(l => l.Contains(':', StringComparison.Ordinal) && !l.Contains('|', StringComparison.Ordinal)).Select(l => l.Split(':')[0].Trim()).ToList();
        Assert.Contains("WROTE-CACHE", result.Stdout, StringComparison.Ordinal);
        Assert.Equal("cached\n", await File.ReadAllTextAsync(Path.Combine(cache, "p.txt"), TestContext.Current.CancellationToken));
        Assert.Equal(File.ReadAllLines("/proc/net/dev").Count(l => l.Contains(':', StringComparison.Ordinal)), interfaces.Count);
    }

    [Fact]
    public async Task AToolchainInsideTheServicesHomeIsBoundAloneAndOnThePath()
    {
        // As dotnet installed by dotnet-install.sh into ~/.dotnet: DOTNET_ROOT and PATH name it.
        var toolchain = Path.Combine(ServiceHome, ".dotnet");
        Directory.CreateDirectory(toolchain);
        var program = Path.Combine(toolchain, "devorch-test-tool");
        await File.WriteAllTextAsync(program, "#!/bin/sh\necho TOOL-RAN\n", TestContext.Current.CancellationToken);
        File.SetUnixFileMode(program, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var environment = ServiceEnvironment();
        environment["DOTNET_ROOT"] = toolchain;
        environment["PATH"] = toolchain + ":" + environment["PATH"];
        var sandbox = await BubblewrapOrSkipAsync(new Sandbox(
            Options.Create(new SandboxOptions { SandboxOutputLimitBytes = 65536 }), Options.Create(new WorkspaceOptions { WorkspacesDir = WorkspacesDir }),
            Options.Create(new ServerOptions { DataDir = DataDir }), TimeProvider.System, NullLogger<Sandbox>.Instance)
        { ServiceEnvironment = environment });

        var result = await sandbox.RunAsync(new SandboxCommand($"devorch-test-tool; ls -A '{ServiceHome}'; " + TryToRead(SecretFiles), OwnWorktree, OwnWorktree, TimeSpan.FromSeconds(30)),
            TestContext.Current.CancellationToken);

        Assert.Contains("TOOL-RAN", result.Stdout, StringComparison.Ordinal);
        Assert.Equal(["TOOL-RAN", ".dotnet"], result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain(_secret, result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheDotnetToolchainWorksInside()
    {
        if (ChildProcess.FindProgram("dotnet") is null)
        {
            Assert.Skip("dotnet is not on PATH");
        }

        var sandbox = await BubblewrapOrSkipAsync(new Sandbox(
            Options.Create(new SandboxOptions { SandboxOutputLimitBytes = 65536 }), Options.Create(new WorkspaceOptions { WorkspacesDir = WorkspacesDir }),
            Options.Create(new ServerOptions { DataDir = DataDir }), TimeProvider.System, NullLogger<Sandbox>.Instance));
        var result = await sandbox.RunAsync(new SandboxCommand("dotnet --version", OwnWorktree, OwnWorktree, TimeSpan.FromSeconds(120)), TestContext.Current.CancellationToken);

        Assert.True(result.ExitCode == 0, result.Stderr + result.Stdout);
        Assert.Matches(@"^\d+\.\d+\.\d+", result.Stdout.Trim());
    }

    private static WorkflowActionContext Context(WorkspaceTestRepository repository, long executionId, string branch) => new()
    {
        Task = new WorkflowTaskInfo(executionId, "task", null, null, "api", null),
        Project = new WorkflowProjectInfo(1, "demo", repository.Bare, "main", null),
        WorkflowExecutionId = executionId,
        StepName = "step",
        Inputs = new Dictionary<string, object?> { ["branch"] = "devorch/" + branch },
        StepOutputs = new Dictionary<string, IReadOnlyDictionary<string, object?>>(),
    };

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
