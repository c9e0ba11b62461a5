using DevOrchestrator.Abstractions;
using DevOrchestrator.Features.Workspaces;

namespace DevOrchestrator.IntegrationTests.Workspaces;

public sealed class WorkspaceActionsTests
{
    private static WorkflowActionContext Context(WorkspaceTestRepository repository, long executionId, Dictionary<string, object?>? inputs = null, string title = "Add a greeting") => new()
    {
        Task = new WorkflowTaskInfo(7, title, null, null, "api", null),
        Project = new WorkflowProjectInfo(1, "demo", repository.Bare, "main", null),
        WorkflowExecutionId = executionId,
        StepName = "step",
        Inputs = inputs ?? new Dictionary<string, object?>(),
        StepOutputs = new Dictionary<string, IReadOnlyDictionary<string, object?>>(),
    };

    [Fact]
    public async Task PrepareCommitAndPushPutTheBranchIntoTheRemote()
    {
        var ct = TestContext.Current.CancellationToken;
        using var repository = await WorkspaceTestRepository.CreateAsync(ct);
        var plugin = repository.CreatePlugin();

        var prepared = await plugin.InvokeAsync("prepare", Context(repository, 1), ct);
        var worktree = Assert.IsType<string>(prepared["worktree"]);
        Assert.Equal("devorch/task-7-add-a-greeting", prepared["branch"]);
        Assert.Equal("main", prepared["base_branch"]);
        Assert.Equal((await repository.RemoteAsync(ct, "rev-parse", "refs/heads/main")).Output, prepared["base_sha"]);
        Assert.True(File.Exists(Path.Combine(worktree, "README.md")));
        Assert.StartsWith(Path.Combine(repository.Settings.Workspaces.WorkspacesDir, "mirrors"), Path.GetFullPath(Path.Combine(worktree, "..", "..", "mirrors")), StringComparison.Ordinal);

        await File.WriteAllTextAsync(Path.Combine(worktree, "hello.txt"), "hello\n", ct);
        await File.WriteAllTextAsync(Path.Combine(worktree, ".env"), "GITHUB_TOKEN=secret123\n", ct);
        await File.WriteAllTextAsync(Path.Combine(worktree, "server.pem"), "key\n", ct);
        var committed = await plugin.InvokeAsync("commit", Context(repository, 1), ct);
        Assert.Equal(true, committed["committed"]);
        Assert.Equal(1, committed["files_changed"]);
        Assert.Equal(new List<object?> { ".env", "server.pem" }, committed["protected_files_skipped"]);

        // The step runs again before the push (its worker died after git commit, before the step was recorded): the
        // commit nobody has pushed yet is still reported, so the push that depends on it runs.
        var resumed = await plugin.InvokeAsync("commit", Context(repository, 1), ct);
        Assert.Equal(true, resumed["committed"]);
        Assert.Equal(true, resumed["already_committed"]);
        Assert.Equal(committed["commit_sha"], resumed["commit_sha"]);

        var pushed = await plugin.InvokeAsync("push", Context(repository, 1), ct);
        Assert.Equal(true, pushed["pushed"]);
        Assert.Equal("devorch/task-7-add-a-greeting", pushed["branch"]);

        var remoteHead = await repository.RemoteAsync(ct, "rev-parse", "refs/heads/devorch/task-7-add-a-greeting");
        Assert.Equal(0, remoteHead.ExitCode);
        Assert.Equal(committed["commit_sha"], remoteHead.Output);
        Assert.Equal("hello", (await repository.RemoteAsync(ct, "show", "devorch/task-7-add-a-greeting:hello.txt")).Output);
        var files = (await repository.RemoteAsync(ct, "ls-tree", "-r", "--name-only", "devorch/task-7-add-a-greeting")).Output.Split('\n');
        Assert.Equal(["README.md", "hello.txt"], files.Order(StringComparer.Ordinal));

        // Nothing changed since: a second commit commits nothing.
        var again = await plugin.InvokeAsync("commit", Context(repository, 1), ct);
        Assert.Equal(false, again["committed"]);
    }

    [Fact]
    public async Task PrepareReusesTheWorktreeOfItsExecutionAndFetchesForANewOne()
    {
        var ct = TestContext.Current.CancellationToken;
        using var repository = await WorkspaceTestRepository.CreateAsync(ct);
        var plugin = repository.CreatePlugin();

        var first = await plugin.InvokeAsync("prepare", Context(repository, 1), ct);
        var marker = Path.Combine((string)first["worktree"]!, "work-in-progress.txt");
        await File.WriteAllTextAsync(marker, "kept", ct);
        var resumed = await plugin.InvokeAsync("prepare", Context(repository, 1), ct);
        Assert.Equal(first["worktree"], resumed["worktree"]);
        Assert.True(File.Exists(marker));

        var upstream = await repository.PushUpstreamCommitAsync("later.txt", ct);
        var second = await plugin.InvokeAsync("prepare", Context(repository, 2, new() { ["branch"] = "feature/x" }), ct);
        Assert.NotEqual(first["worktree"], second["worktree"]);
        Assert.Equal("feature/x", second["branch"]);
        Assert.Equal(upstream, second["base_sha"]);
        Assert.True(File.Exists(Path.Combine((string)second["worktree"]!, "later.txt")));
    }

    [Fact]
    public async Task A_new_worktree_leaves_the_mirror_config_file_alone_when_the_author_is_already_set()
    {
        // Each write of the shared config replaces the file (git's lock and rename); a sandboxed command starting at that
        // moment in another worktree binds a copy over that file and bubblewrap failed with "Can't bind mount" (seen in
        // the fault soak). The author is written once per mirror, not once per worktree.
        var ct = TestContext.Current.CancellationToken;
        using var repository = await WorkspaceTestRepository.CreateAsync(ct);
        var plugin = repository.CreatePlugin();

        var first = await plugin.InvokeAsync("prepare", Context(repository, 1), ct);
        var commonDir = (await WorkspaceTestRepository.GitAsync((string)first["worktree"]!, ct, "rev-parse", "--git-common-dir")).Trim();
        var config = Path.Combine(Path.GetFullPath(Path.Combine((string)first["worktree"]!, commonDir)), "config");
        var before = new FileInfo(config).LastWriteTimeUtc;
        var identity = File.ReadAllText(config);
        await Task.Delay(TimeSpan.FromMilliseconds(20), ct);

        var second = await plugin.InvokeAsync("prepare", Context(repository, 2, new() { ["branch"] = "feature/y" }), ct);

        Assert.NotEqual(first["worktree"], second["worktree"]);
        Assert.Equal(before, new FileInfo(config).LastWriteTimeUtc);
        Assert.Equal(identity, File.ReadAllText(config));
        Assert.Contains(repository.Settings.Workspaces.GitAuthorName, identity, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RollbackUndoesPushCommitAndPrepare()
    {
        var ct = TestContext.Current.CancellationToken;
        using var repository = await WorkspaceTestRepository.CreateAsync(ct);
        var plugin = repository.CreatePlugin();
        var context = Context(repository, 3);
        var prepared = await plugin.InvokeAsync("prepare", context, ct);
        var worktree = (string)prepared["worktree"]!;
        await File.WriteAllTextAsync(Path.Combine(worktree, "x.txt"), "x", ct);
        var committed = await plugin.InvokeAsync("commit", context, ct);
        var pushed = await plugin.InvokeAsync("push", context, ct);
        var branch = (string)pushed["branch"]!;
        Assert.Equal(0, (await repository.RemoteAsync(ct, "rev-parse", "--verify", "refs/heads/" + branch)).ExitCode);

        await plugin.RollbackAsync("push", context, pushed, ct);
        Assert.NotEqual(0, (await repository.RemoteAsync(ct, "rev-parse", "--verify", "--quiet", "refs/heads/" + branch)).ExitCode);

        await plugin.RollbackAsync("commit", context, committed, ct);
        Assert.Equal(prepared["base_sha"], await WorkspaceTestRepository.GitAsync(worktree, ct, "rev-parse", "HEAD"));
        Assert.False(File.Exists(Path.Combine(worktree, "x.txt")));

        await plugin.RollbackAsync("prepare", context, prepared, ct);
        Assert.False(Directory.Exists(worktree));
    }

    [Fact]
    public async Task RunCommandFailsOnANonZeroExitAndRefusesEscapingWorkdirs()
    {
        var ct = TestContext.Current.CancellationToken;
        using var repository = await WorkspaceTestRepository.CreateAsync(ct);
        var plugin = repository.CreatePlugin();
        await plugin.InvokeAsync("prepare", Context(repository, 4), ct);

        var ok = await plugin.InvokeAsync("run_command", Context(repository, 4, new() { ["command"] = "echo built > out.txt && cat README.md" }), ct);
        Assert.Equal(0, ok["exit_code"]);
        Assert.Contains("# demo", (string)ok["stdout"]!, StringComparison.Ordinal);

        var failure = await Assert.ThrowsAsync<WorkflowActionException>(() =>
            plugin.InvokeAsync("run_command", Context(repository, 4, new() { ["command"] = "echo oops >&2; exit 3" }), ct));
        Assert.Contains("exited with code 3", failure.Message, StringComparison.Ordinal);
        Assert.Equal(3, failure.Outputs!["exit_code"]);
        Assert.Contains("oops", (string)failure.Outputs["stderr"]!, StringComparison.Ordinal);

        var allowed = await plugin.InvokeAsync("run_command", Context(repository, 4, new() { ["command"] = "exit 3", ["allow_failure"] = true }), ct);
        Assert.Equal(3, allowed["exit_code"]);

        await Assert.ThrowsAsync<WorkflowActionException>(() =>
            plugin.InvokeAsync("run_command", Context(repository, 4, new() { ["command"] = "true", ["workdir"] = "../.." }), ct));
        await Assert.ThrowsAsync<WorkflowActionException>(() =>
            plugin.InvokeAsync("run_command", Context(repository, 4, new() { ["command"] = "true", ["workdir"] = "/etc" }), ct));
    }

    [Theory]
    [InlineData(".env", true)]
    [InlineData("config/.env", true)]
    [InlineData("certs/server.PEM", true)]
    [InlineData("id_rsa.pub", true)]
    [InlineData("deploy.key", true)]
    [InlineData("bundle.pfx", true)]
    [InlineData(".env.example", false)]
    [InlineData("src/keyboard.cs", false)]
    public void ProtectedPatterns(string path, bool expected) => Assert.Equal(expected, WorkspaceActions.IsProtected(path));
}
