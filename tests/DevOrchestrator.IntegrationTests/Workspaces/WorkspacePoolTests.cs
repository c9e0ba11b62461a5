using DevOrchestrator.Abstractions;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Workspaces;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace DevOrchestrator.IntegrationTests.Workspaces;

/// <summary>The pool of recycled worktrees, on real git repositories (and a real SQLite database for the reclaimer).</summary>
public sealed class WorkspacePoolTests
{
    private static WorkflowActionContext Context(WorkspaceTestRepository repository, long taskId, long executionId, string? branch = null) => new()
    {
        Task = new WorkflowTaskInfo(taskId, "Add a greeting", null, null, "api", null),
        Project = new WorkflowProjectInfo(1, "demo", repository.Bare, "main", null),
        WorkflowExecutionId = executionId,
        StepName = "prepare",
        Inputs = branch is null ? new Dictionary<string, object?>() : new Dictionary<string, object?> { ["branch"] = branch },
        StepOutputs = new Dictionary<string, IReadOnlyDictionary<string, object?>>(),
    };

    private static string Mirror(WorkspaceTestRepository repository, WorkspacePool pool) => pool.MirrorPath(Path.GetFullPath(repository.Bare));

    /// <summary>The worktree's own directory in the mirror (<c>worktrees/NAME</c>), which <c>git worktree move</c> keeps.</summary>
    private static string AdminDir(string worktree) => File.ReadAllText(Path.Combine(worktree, ".git")).Trim()["gitdir: ".Length..];

    private static async Task<string[]> MirrorWorktreesAsync(string mirror, CancellationToken ct) =>
        [.. (await WorkspaceTestRepository.GitAsync(mirror, ct, "worktree", "list", "--porcelain")).Split('\n')
            .Where(l => l.StartsWith("worktree ", StringComparison.Ordinal)).Select(l => l["worktree ".Length..]).Where(p => p != mirror)];

    [Fact]
    public async Task TheSecondPrepareRecyclesTheFirstTasksWorktreeWithNothingOfThatTaskLeft()
    {
        var ct = TestContext.Current.CancellationToken;
        using var repository = await WorkspaceTestRepository.CreateAsync(ct);
        var pool = repository.CreatePool();
        var plugin = repository.CreatePlugin(pool);

        var first = await plugin.InvokeAsync("prepare", Context(repository, 7, 1), ct);
        var firstWorktree = (string)first["worktree"]!;
        var admin = AdminDir(firstWorktree);

        // The first task leaves everything a task can leave: a commit on its branch, a modified tracked file, untracked and
        // ignored files (build outputs), an untracked nested repository.
        await File.WriteAllTextAsync(Path.Combine(firstWorktree, "feature.txt"), "committed by task 7\n", ct);
        await WorkspaceTestRepository.GitAsync(firstWorktree, ct, "add", "feature.txt");
        await WorkspaceTestRepository.GitAsync(firstWorktree, ct, "commit", "-q", "-m", "task 7");
        await File.WriteAllTextAsync(Path.Combine(firstWorktree, "README.md"), "edited by task 7\n", ct);
        await File.WriteAllTextAsync(Path.Combine(firstWorktree, ".gitignore"), "bin/\n*.log\n", ct);
        Directory.CreateDirectory(Path.Combine(firstWorktree, "bin", "Debug"));
        await File.WriteAllTextAsync(Path.Combine(firstWorktree, "bin", "Debug", "app.dll"), "build output", ct);
        await File.WriteAllTextAsync(Path.Combine(firstWorktree, "test.log"), "ignored", ct);
        await File.WriteAllTextAsync(Path.Combine(firstWorktree, "notes.txt"), "untracked", ct);
        Directory.CreateDirectory(Path.Combine(firstWorktree, "vendor", "lib"));
        await WorkspaceTestRepository.GitAsync(Path.Combine(firstWorktree, "vendor", "lib"), ct, "init", "-q");

        // …and an unfinished merge, and the HEAD reflog that remembers its commit.
        await WorkspaceTestRepository.GitAsync(firstWorktree, ct, "update-ref", "MERGE_HEAD", "HEAD");
        Assert.Contains("task 7", await WorkspaceTestRepository.GitAsync(firstWorktree, ct, "reflog", "--format=%s"), StringComparison.Ordinal);

        Assert.True(await pool.ReleaseAsync(7, 1, ct));
        Assert.False(Directory.Exists(firstWorktree));
        var mirror = Mirror(repository, pool);
        Assert.Single(pool.PooledWorktrees(mirror));
        Assert.Equal(string.Empty, await WorkspaceTestRepository.GitAsync(mirror, ct, "branch", "--list", "devorch/task-7-add-a-greeting"));

        var upstream = await repository.PushUpstreamCommitAsync("later.txt", ct);
        var second = await plugin.InvokeAsync("prepare", Context(repository, 8, 2), ct);
        var worktree = (string)second["worktree"]!;

        Assert.Equal(1, pool.Recycled);
        Assert.Equal(admin, AdminDir(worktree));
        Assert.Empty(pool.PooledWorktrees(mirror));
        Assert.Equal(repository.Settings.Workspaces.WorkspacesDir + "/tasks/task-8-2", worktree);
        Assert.Equal("devorch/task-8-add-a-greeting", second["branch"]);
        Assert.Equal(upstream, second["base_sha"]);
        Assert.Equal(upstream, await WorkspaceTestRepository.GitAsync(worktree, ct, "rev-parse", "HEAD"));
        Assert.Equal("# demo", (await File.ReadAllTextAsync(Path.Combine(worktree, "README.md"), ct)).Trim());
        Assert.True(File.Exists(Path.Combine(worktree, "later.txt")));
        foreach (var leftover in new[] { "feature.txt", ".gitignore", "bin", "test.log", "notes.txt", "vendor" })
        {
            Assert.False(Path.Exists(Path.Combine(worktree, leftover)), leftover + " survived the recycling");
        }

        Assert.Equal(string.Empty, await WorkspaceTestRepository.GitAsync(worktree, ct, "status", "--porcelain", "--ignored", "--untracked-files=all"));
        Assert.False(File.Exists(Path.Combine(admin, "MERGE_HEAD")));
        Assert.DoesNotContain("task 7", await WorkspaceTestRepository.GitAsync(worktree, ct, "reflog", "--format=%s"), StringComparison.Ordinal);
        Assert.Equal(["README.md", "later.txt"], Directory.EnumerateFileSystemEntries(worktree).Select(Path.GetFileName).Where(n => n != ".git").Order(StringComparer.Ordinal));

        // The recycled worktree works like a new one: commit and push.
        await File.WriteAllTextAsync(Path.Combine(worktree, "hello.txt"), "hello\n", ct);
        Assert.Equal(true, (await plugin.InvokeAsync("commit", Context(repository, 8, 2), ct))["committed"]);
        Assert.Equal(true, (await plugin.InvokeAsync("push", Context(repository, 8, 2), ct))["pushed"]);
        Assert.Equal("hello", (await repository.RemoteAsync(ct, "show", "devorch/task-8-add-a-greeting:hello.txt")).Output);
    }

    [Fact]
    public async Task WhatWasWrittenIntoAPooledWorktreeAfterItsReleaseIsGoneWhenItIsRecycled()
    {
        var ct = TestContext.Current.CancellationToken;
        using var repository = await WorkspaceTestRepository.CreateAsync(ct);
        var pool = repository.CreatePool();
        var plugin = repository.CreatePlugin(pool);
        await plugin.InvokeAsync("prepare", Context(repository, 7, 1), ct);
        await pool.ReleaseAsync(7, 1, ct);
        var pooled = Assert.Single(pool.PooledWorktrees(Mirror(repository, pool)));

        // A process of the previous task that outlived it, still writing into the (moved) directory.
        await File.WriteAllTextAsync(Path.Combine(pooled, "README.md"), "overwritten later\n", ct);
        Directory.CreateDirectory(Path.Combine(pooled, "obj", "cache"));
        await File.WriteAllTextAsync(Path.Combine(pooled, "obj", "cache", "state.bin"), "late", ct);
        Directory.CreateDirectory(Path.Combine(pooled, "empty"));
        Directory.CreateDirectory(Path.Combine(pooled, "nested"));
        await WorkspaceTestRepository.GitAsync(Path.Combine(pooled, "nested"), ct, "init", "-q");

        var prepared = await plugin.InvokeAsync("prepare", Context(repository, 8, 2), ct);
        var worktree = (string)prepared["worktree"]!;
        Assert.Equal(1, pool.Recycled);
        Assert.Equal("# demo", (await File.ReadAllTextAsync(Path.Combine(worktree, "README.md"), ct)).Trim());
        Assert.Equal(["README.md"], Directory.EnumerateFileSystemEntries(worktree).Select(Path.GetFileName).Where(n => n != ".git"));
        Assert.Equal(string.Empty, await WorkspaceTestRepository.GitAsync(worktree, ct, "status", "--porcelain", "--ignored", "--untracked-files=all"));
    }

    [Fact]
    public async Task AWorktreeDeletedBehindGitsBackDoesNotHoldItsBranch()
    {
        var ct = TestContext.Current.CancellationToken;
        using var repository = await WorkspaceTestRepository.CreateAsync(ct);
        var pool = repository.CreatePool();
        var plugin = repository.CreatePlugin(pool);
        var first = await plugin.InvokeAsync("prepare", Context(repository, 7, 1, branch: "feature/shared"), ct);
        Directory.Delete((string)first["worktree"]!, recursive: true);

        var second = await plugin.InvokeAsync("prepare", Context(repository, 8, 2, branch: "feature/shared"), ct);

        Assert.Equal("feature/shared", second["branch"]);
        Assert.Empty((await MirrorWorktreesAsync(Mirror(repository, pool), ct)).Except([(string)second["worktree"]!]));
    }

    [Fact]
    public async Task ThePoolKeepsAtMostPoolSizeWorktreesPerMirrorAndRemovesTheRest()
    {
        var ct = TestContext.Current.CancellationToken;
        using var repository = await WorkspaceTestRepository.CreateAsync(ct);
        repository.Settings.Workspaces.WorkspacePoolSize = 2;
        var pool = repository.CreatePool();
        var plugin = repository.CreatePlugin(pool);
        for (var execution = 1; execution <= 3; execution++)
        {
            await plugin.InvokeAsync("prepare", Context(repository, execution, execution), ct);
        }

        var mirror = Mirror(repository, pool);
        Assert.Equal(3, (await MirrorWorktreesAsync(mirror, ct)).Length);
        for (var execution = 1; execution <= 3; execution++)
        {
            await pool.ReleaseAsync(execution, execution, ct);
            Assert.False(Directory.Exists(pool.WorktreePath(execution, execution)));
        }

        Assert.Equal(2, pool.PooledWorktrees(mirror).Count);
        Assert.Equal(1, pool.Removed);
        Assert.Equal(pool.PooledWorktrees(mirror).Order(StringComparer.Ordinal), (await MirrorWorktreesAsync(mirror, ct)).Order(StringComparer.Ordinal));

        // Releasing again (a second call, or the reclaimer after the task's own call) is harmless.
        Assert.False(await pool.ReleaseAsync(3, 3, ct));
        Assert.Equal(2, pool.PooledWorktrees(mirror).Count);
    }

    [Fact]
    public async Task WithThePoolOffAFinishedWorktreeIsRemovedAndTheNextPrepareAddsANewOne()
    {
        var ct = TestContext.Current.CancellationToken;
        using var repository = await WorkspaceTestRepository.CreateAsync(ct);
        repository.Settings.Workspaces.WorkspacePoolSize = 0;
        var pool = repository.CreatePool();
        var plugin = repository.CreatePlugin(pool);
        var first = await plugin.InvokeAsync("prepare", Context(repository, 7, 1), ct);

        Assert.False(await pool.ReleaseAsync(7, 1, ct));
        var mirror = Mirror(repository, pool);
        Assert.False(Directory.Exists((string)first["worktree"]!));
        Assert.Empty(pool.PooledWorktrees(mirror));
        Assert.Empty(await MirrorWorktreesAsync(mirror, ct));
        Assert.Equal(1, pool.Removed);

        await plugin.InvokeAsync("prepare", Context(repository, 8, 2), ct);
        Assert.Equal(0, pool.Recycled);
    }

    [Fact]
    public async Task TheDiskLimitEvictsTheLeastRecentlyReleasedWorktrees()
    {
        var ct = TestContext.Current.CancellationToken;
        using var repository = await WorkspaceTestRepository.CreateAsync(ct);
        await File.WriteAllBytesAsync(Path.Combine(repository.Root, "seed", "big.bin"), new byte[700 * 1024], ct);
        await repository.PushUpstreamCommitAsync("small.txt", ct);
        repository.Settings.Workspaces.WorkspacesMaxDiskMb = 1;
        var pool = repository.CreatePool();
        var plugin = repository.CreatePlugin(pool);
        await plugin.InvokeAsync("prepare", Context(repository, 1, 1), ct);
        await plugin.InvokeAsync("prepare", Context(repository, 2, 2), ct);

        await pool.ReleaseAsync(1, 1, ct);
        var mirror = Mirror(repository, pool);
        var older = Assert.Single(pool.PooledWorktrees(mirror));
        await pool.ReleaseAsync(2, 2, ct);

        // Two worktrees of ~700 KiB each do not fit in 1 MiB: the older one went.
        var kept = Assert.Single(pool.PooledWorktrees(mirror));
        Assert.NotEqual(older, kept);
        Assert.False(Directory.Exists(older));
        Assert.Single(await MirrorWorktreesAsync(mirror, ct));
    }

    [Fact]
    public async Task RollbackOfPrepareReturnsTheWorktreeToThePoolAndDeletesTheBranch()
    {
        var ct = TestContext.Current.CancellationToken;
        using var repository = await WorkspaceTestRepository.CreateAsync(ct);
        var pool = repository.CreatePool();
        var plugin = repository.CreatePlugin(pool);
        var context = Context(repository, 7, 1, branch: "feature/rolled-back");
        var prepared = await plugin.InvokeAsync("prepare", context, ct);
        var worktree = (string)prepared["worktree"]!;
        await File.WriteAllTextAsync(Path.Combine(worktree, "half-done.txt"), "x", ct);

        await plugin.RollbackAsync("prepare", context, prepared, ct);

        var mirror = Mirror(repository, pool);
        Assert.False(Directory.Exists(worktree));
        Assert.Equal(string.Empty, await WorkspaceTestRepository.GitAsync(mirror, ct, "branch", "--list", "feature/rolled-back"));
        var pooled = Assert.Single(pool.PooledWorktrees(mirror));
        Assert.False(File.Exists(Path.Combine(pooled, "half-done.txt")));

        // The same step run again (on_error: retry) gets the worktree back, on its branch.
        var again = await plugin.InvokeAsync("prepare", context, ct);
        Assert.Equal(worktree, again["worktree"]);
        Assert.Equal("feature/rolled-back", again["branch"]);
        Assert.Equal(1, pool.Recycled);
    }

    [Fact]
    public async Task ConcurrentPreparesOfOneMirrorShareOnePooledWorktreeCorrectly()
    {
        var ct = TestContext.Current.CancellationToken;
        using var repository = await WorkspaceTestRepository.CreateAsync(ct);
        var pool = repository.CreatePool();
        var plugin = repository.CreatePlugin(pool);
        await plugin.InvokeAsync("prepare", Context(repository, 1, 1), ct);
        await pool.ReleaseAsync(1, 1, ct);

        var prepares = await Task.WhenAll(Enumerable.Range(2, 4).Select(i => plugin.InvokeAsync("prepare", Context(repository, i, i), ct)));

        Assert.Equal(1, pool.Recycled);
        Assert.Equal(4, prepares.Select(p => (string)p["worktree"]!).Distinct().Count());
        foreach (var prepared in prepares)
        {
            var worktree = (string)prepared["worktree"]!;
            Assert.Equal(prepared["branch"], await WorkspaceTestRepository.GitAsync(worktree, ct, "rev-parse", "--abbrev-ref", "HEAD"));
            Assert.Equal(string.Empty, await WorkspaceTestRepository.GitAsync(worktree, ct, "status", "--porcelain", "--ignored"));
        }
    }

    [Fact]
    public async Task TheReclaimerReleasesTheWorktreesOfExecutionsFinishedLongerThanTheGraceOnly()
    {
        var ct = TestContext.Current.CancellationToken;
        using var repository = await WorkspaceTestRepository.CreateAsync(ct);
        await using var services = DevOrchestrator.Cli.WorkflowsValidateCommand.ValidationServices(repository.Settings)
            .AddDevOrchestratorDatabase(repository.Settings.Database)
            .BuildServiceProvider();
        try
        {
            await DatabaseMigrator.MigrateAsync(services, ct);
            var now = DateTimeOffset.UtcNow;
            var old = now - WorkspaceReclaimer.Grace - TimeSpan.FromMinutes(1);
            long taskId;
            var executions = new Dictionary<string, long>();
            await using (var scope = services.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
                var project = new Project { Name = "demo", RepositoryUrl = repository.Bare, DefaultBranch = "main", CreatedAt = now, UpdatedAt = now };
                db.Projects.Add(project);
                await db.SaveChangesAsync(ct);
                var task = new DevTask { ProjectId = project.Id, Title = "t", Status = TaskStatuses.Running, Workflow = "w", CreatedAt = now, UpdatedAt = now };
                db.Tasks.Add(task);
                await db.SaveChangesAsync(ct);
                taskId = task.Id;
                foreach (var (name, status, completed) in new (string, string, DateTimeOffset?)[]
                {
                    ("completed long ago", WorkflowStatuses.Completed, old),
                    ("failed long ago", WorkflowStatuses.Failed, old),
                    ("completed just now", WorkflowStatuses.Completed, now),
                    ("running", WorkflowStatuses.Running, null),
                    ("handed back", WorkflowStatuses.Queued, null),
                })
                {
                    var execution = new WorkflowExecution { TaskId = task.Id, WorkflowName = "w", Status = status, CreatedAt = now, CompletedAt = completed };
                    db.WorkflowExecutions.Add(execution);
                    await db.SaveChangesAsync(ct);
                    executions[name] = execution.Id;
                }
            }

            var plugin = services.GetRequiredService<WorkspaceActions>();
            var pool = services.GetRequiredService<WorkspacePool>();
            foreach (var id in executions.Values.Append(9_999))
            {
                await plugin.InvokeAsync("prepare", Context(repository, taskId, id, branch: $"b{id}"), ct);
            }

            var reclaimer = new WorkspaceReclaimer(services.GetRequiredService<IDbContextFactory<AppDbContext>>(), pool, TimeProvider.System, NullLogger<WorkspaceReclaimer>.Instance);
            Assert.Equal(3, await reclaimer.ReclaimAsync(ct));

            Assert.False(Directory.Exists(pool.WorktreePath(taskId, executions["completed long ago"])));
            Assert.False(Directory.Exists(pool.WorktreePath(taskId, executions["failed long ago"])));
            Assert.False(Directory.Exists(pool.WorktreePath(taskId, 9_999)));
            Assert.True(Directory.Exists(pool.WorktreePath(taskId, executions["completed just now"])));
            Assert.True(Directory.Exists(pool.WorktreePath(taskId, executions["running"])));
            Assert.True(Directory.Exists(pool.WorktreePath(taskId, executions["handed back"])));
            Assert.Equal(3, pool.PooledWorktrees(Mirror(repository, pool)).Count);
            Assert.Equal(0, await reclaimer.ReclaimAsync(ct));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        }
    }
}
