using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Workspaces;

/// <summary>
/// Where workspaces live, and the pool of recycled worktrees per repository mirror.
/// <list type="bullet">
/// <item>A workflow execution's worktree: <c>WORKSPACES_DIR/tasks/task-{task}-{execution}</c>.</item>
/// <item>Idle, pooled worktrees of a mirror: <c>WORKSPACES_DIR/pool/{mirror}/{released at, UTC}-{KiB}k-{random}</c>.</item>
/// </list>
/// A finished execution's worktree is released (<see cref="ReleaseAsync(long, long, CancellationToken)"/>): cleaned
/// (<c>reset --hard</c>, <c>clean -ffdx</c>, HEAD detached, its task branch deleted), verified empty of anything
/// untracked or ignored, and moved into the pool (<c>git worktree move</c>, a rename); or removed when the pool is off,
/// full, or the worktree cannot be cleaned. The next prepare of the same mirror takes the most recently released one,
/// checks the new base out over it (<c>checkout -f -B</c>: only files that differ are written; the index's stat data
/// spares the rest), makes sure nothing untracked or ignored is in it (<c>clean -ffdx</c> when anything is), and moves
/// it to the execution's path. Everything that touches a
/// mirror's worktrees runs under that mirror's <see cref="MirrorLocks"/>.
/// </summary>
public sealed partial class WorkspacePool(IOptions<WorkspaceOptions> options, GitCli git, MirrorLocks locks, TimeProvider timeProvider, ILogger<WorkspacePool> logger)
{
    private long _recycled;
    private long _pooled;
    private long _removed;

    /// <summary>Prepares that took a pooled worktree (in this process).</summary>
    public long Recycled => Interlocked.Read(ref _recycled);

    /// <summary>Worktrees released into the pool (in this process).</summary>
    public long Pooled => Interlocked.Read(ref _pooled);

    /// <summary>Worktrees removed: released into a full or disabled pool, evicted, or failed to clean (in this process).</summary>
    public long Removed => Interlocked.Read(ref _removed);

    public string Root => Path.GetFullPath(options.Value.WorkspacesDir);

    /// <summary>The worktree of a workflow execution: <c>WORKSPACES_DIR/tasks/task-{id}-{execution}</c>.</summary>
    public string WorktreePath(long taskId, long workflowExecutionId) =>
        Path.Combine(Root, "tasks", $"task-{taskId}-{workflowExecutionId}");

    /// <summary>The cached mirror of a repository: <c>WORKSPACES_DIR/mirrors/{sha256(url)[..16]}.git</c>.</summary>
    public string MirrorPath(string remoteUrl) =>
        Path.Combine(Root, "mirrors", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(remoteUrl)))[..16] + ".git");

    /// <summary>The pool directory of a mirror: <c>WORKSPACES_DIR/pool/{mirror name}</c>.</summary>
    public string PoolPath(string mirror) => Path.Combine(Root, "pool", Path.GetFileNameWithoutExtension(mirror));

    /// <summary>The pooled worktrees of a mirror, most recently released first.</summary>
    public IReadOnlyList<string> PooledWorktrees(string mirror)
    {
        var pool = PoolPath(mirror);
        return Directory.Exists(pool)
            ? [.. Directory.EnumerateDirectories(pool).Where(d => PoolEntry.TryParse(d, out _)).OrderDescending(StringComparer.Ordinal)]
            : [];
    }

    /// <summary>
    /// Releases the worktree of a finished workflow execution: into its mirror's pool, or removed. Harmless when there
    /// is none (never prepared, or already released). Call it once the execution will not run again.
    /// </summary>
    public Task<bool> ReleaseAsync(long taskId, long workflowExecutionId, CancellationToken cancellationToken) =>
        ReleaseAsync(WorktreePath(taskId, workflowExecutionId), cancellationToken);

    /// <summary>
    /// Releases a worktree under <c>WORKSPACES_DIR/tasks</c>; true when it went into the pool. Never throws but for
    /// cancellation: a failure is logged, and the <see cref="WorkspaceReclaimer"/> tries again later.
    /// </summary>
    public async Task<bool> ReleaseAsync(string worktree, CancellationToken cancellationToken)
    {
        worktree = Path.GetFullPath(worktree);
        if (Path.GetDirectoryName(worktree) != Path.Combine(Root, "tasks"))
        {
            throw new ArgumentException($"{worktree} is not an execution's worktree (WORKSPACES_DIR/tasks/…)", nameof(worktree));
        }

        try
        {
            if (!Directory.Exists(worktree) || MirrorOf(worktree) is not { } mirror)
            {
                if (Directory.Exists(worktree))
                {
                    // Not a worktree of one of our mirrors (a half-made or corrupt directory): nothing can recycle it.
                    Directory.Delete(worktree, recursive: true);
                    Interlocked.Increment(ref _removed);
                }

                return false;
            }

            bool pooled;
            await using (await locks.AcquireAsync(mirror, cancellationToken))
            {
                pooled = await ReleaseLockedAsync(mirror, worktree, cancellationToken);

                // The mirror's housekeeping (gc --auto when loose objects or packs pile up), which prepare's fetch leaves
                // out to keep it off the tasks' path.
                await git.RunAsync(mirror, ["maintenance", "run", "--auto", "--quiet"], cancellationToken, allowFailure: true);
            }

            await EnforceDiskLimitAsync(cancellationToken);
            return pooled;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogReleaseFailed(logger, ex, worktree);
            return false;
        }
    }

    /// <summary>Release with the mirror's lock held; true when the worktree went into the pool.</summary>
    internal async Task<bool> ReleaseLockedAsync(string mirror, string worktree, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(worktree))
        {
            return false;
        }

        if (options.Value.WorkspacePoolSize == 0)
        {
            // The pool is off (perhaps since the last start): remove this worktree and any the mirror still has pooled.
            foreach (var path in PooledWorktrees(mirror).Prepend(worktree))
            {
                await RemoveLockedAsync(mirror, path, cancellationToken);
            }

            return false;
        }

        try
        {
            var branch = await git.RunAsync(worktree, ["symbolic-ref", "-q", "--short", "HEAD"], cancellationToken, allowFailure: true);
            await git.RunAsync(worktree, ["reset", "-q", "--hard"], cancellationToken);
            await git.RunAsync(worktree, ["checkout", "-q", "--detach"], cancellationToken);
            await git.RunAsync(worktree, ["clean", "-q", "-ffdx"], cancellationToken);
            if (branch.ExitCode == 0 && branch.Output.Length > 0)
            {
                // The task's local branch goes with it: what mattered was pushed; a new run starts from the pushed branch.
                await git.RunAsync(mirror, ["branch", "-D", "--", branch.Output], cancellationToken, allowFailure: true);
            }

            ForgetTheTask(worktree);
            if (await LeftoversAsync(worktree, cancellationToken) is { } leftovers)
            {
                throw new InvalidOperationException("still holds " + leftovers);
            }

            var pool = PoolPath(mirror);
            Directory.CreateDirectory(pool);
            var entry = new PoolEntry(timeProvider.GetUtcNow(), DiskKib(worktree), Guid.NewGuid().ToString("N")[..8]);
            await git.RunAsync(mirror, ["worktree", "move", worktree, Path.Combine(pool, entry.Name)], cancellationToken);
            Interlocked.Increment(ref _pooled);
            LogPooled(logger, worktree, entry.Kib);
        }
        catch (Exception ex) when (ex is Abstractions.WorkflowActionException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            LogNotPoolable(logger, worktree, ex.Message);
            await RemoveLockedAsync(mirror, worktree, cancellationToken);
            return false;
        }

        // Keep at most WORKSPACE_POOL_SIZE per mirror: the least recently released go.
        foreach (var stale in PooledWorktrees(mirror).Skip(options.Value.WorkspacePoolSize))
        {
            await RemoveLockedAsync(mirror, stale, cancellationToken);
        }

        return true;
    }

    /// <summary>
    /// With the mirror's lock held: takes the most recently released pooled worktree of <paramref name="mirror"/>, puts
    /// it on <paramref name="branch"/> at <paramref name="startRef"/> with nothing else in it, and moves it to
    /// <paramref name="worktree"/>. False when the pool is empty (or no pooled worktree could be reset: each that failed
    /// is removed), and the caller adds a new worktree.
    /// </summary>
    internal async Task<bool> TryRecycleLockedAsync(string mirror, string worktree, string branch, string startRef, CancellationToken cancellationToken)
    {
        if (options.Value.WorkspacePoolSize == 0)
        {
            return false;
        }

        foreach (var candidate in PooledWorktrees(mirror))
        {
            try
            {
                if (MirrorOf(candidate) != mirror)
                {
                    throw new InvalidOperationException("it is not a worktree of this mirror");
                }

                // Only files that differ between the old and the new commit are written; the rest are stat'ed, and any
                // tracked file that differs from the index is rewritten (-f).
                await git.RunAsync(candidate, ["checkout", "-q", "-f", "--no-track", "-B", branch, startRef], cancellationToken);

                // Then nothing untracked or ignored may be left (the release cleaned it, but something may have written
                // since): `ls-files --others` without exclude rules lists exactly what `clean -ffdx` removes, reading
                // the directories only. When it lists anything, clean and check again.
                if (await UntrackedAsync(candidate, cancellationToken) is { Length: > 0 })
                {
                    await git.RunAsync(candidate, ["clean", "-q", "-ffdx"], cancellationToken);
                    if (await UntrackedAsync(candidate, cancellationToken) is { Length: > 0 } left)
                    {
                        throw new InvalidOperationException($"still holds {left.Length} untracked or ignored path(s) after clean -ffdx, e.g. {left[0]}");
                    }
                }

                Directory.CreateDirectory(Path.GetDirectoryName(worktree)!);
                await git.RunAsync(mirror, ["worktree", "move", candidate, worktree], cancellationToken);
                Interlocked.Increment(ref _recycled);
                LogRecycled(logger, candidate, worktree);
                return true;
            }
            catch (Exception ex) when (ex is Abstractions.WorkflowActionException or InvalidOperationException or IOException)
            {
                LogNotRecyclable(logger, candidate, ex.Message);
                await RemoveLockedAsync(mirror, candidate, cancellationToken);
            }
        }

        return false;
    }

    /// <summary>Removes a worktree of <paramref name="mirror"/> (the mirror's lock held): <c>worktree remove --force</c>, else delete + prune.</summary>
    internal async Task RemoveLockedAsync(string mirror, string worktree, CancellationToken cancellationToken)
    {
        var removed = await git.RunAsync(mirror, ["worktree", "remove", "--force", "--force", worktree], cancellationToken, allowFailure: true);
        if (removed.ExitCode != 0 && Directory.Exists(worktree))
        {
            Directory.Delete(worktree, recursive: true);
        }

        await git.RunAsync(mirror, ["worktree", "prune"], cancellationToken, allowFailure: true);
        Interlocked.Increment(ref _removed);
        LogRemoved(logger, worktree);
    }

    /// <summary>
    /// Evicts least recently released pooled worktrees (of every mirror) until together they take at most
    /// <c>WORKSPACES_MAX_DISK_MB</c>. Takes each mirror's lock in turn, never two at once.
    /// </summary>
    public async Task EnforceDiskLimitAsync(CancellationToken cancellationToken)
    {
        var limitKib = options.Value.WorkspacesMaxDiskMb * 1024;
        var poolRoot = Path.Combine(Root, "pool");
        if (limitKib <= 0 || !Directory.Exists(poolRoot))
        {
            return;
        }

        var entries = Directory.EnumerateDirectories(poolRoot)
            .SelectMany(Directory.EnumerateDirectories)
            .Select(path => PoolEntry.TryParse(path, out var entry) ? (Path: path, Entry: entry) : default)
            .Where(e => e.Path is not null)
            .OrderBy(e => e.Entry!.ReleasedAt)
            .ToList();
        var total = entries.Sum(e => e.Entry!.Kib);
        foreach (var (path, entry) in entries)
        {
            if (total <= limitKib)
            {
                break;
            }

            var mirror = Path.Combine(Root, "mirrors", Path.GetFileName(Path.GetDirectoryName(path)!) + ".git");
            await using (await locks.AcquireAsync(mirror, cancellationToken))
            {
                if (Directory.Exists(path))
                {
                    await RemoveLockedAsync(mirror, path, cancellationToken);
                }
            }

            total -= entry!.Kib;
        }
    }

    /// <summary>The files of a worktree's own directory in the mirror (<c>worktrees/NAME</c>) that a recycled worktree needs.</summary>
    private static readonly HashSet<string> s_adminFilesKept = new(StringComparer.Ordinal) { "HEAD", "commondir", "gitdir", "index" };

    /// <summary>
    /// Deletes what the worktree's own directory in the mirror remembers of the task: its HEAD reflog, ORIG_HEAD, an
    /// unfinished merge, rebase, cherry-pick, revert or bisect, worktree refs and worktree config. Keeps HEAD (detached),
    /// the index and the links between worktree and mirror.
    /// </summary>
    private static void ForgetTheTask(string worktree)
    {
        var admin = AdminDirOf(worktree) ?? throw new InvalidOperationException("its .git file names no worktree directory");
        foreach (var entry in new DirectoryInfo(admin).EnumerateFileSystemInfos())
        {
            if (s_adminFilesKept.Contains(entry.Name))
            {
                continue;
            }

            if (entry is DirectoryInfo directory)
            {
                directory.Delete(recursive: true);
            }
            else
            {
                entry.Delete();
            }
        }
    }

    private static string? AdminDirOf(string worktree)
    {
        var dotGit = Path.Combine(worktree, ".git");
        if (!File.Exists(dotGit))
        {
            return null;
        }

        var line = File.ReadLines(dotGit).FirstOrDefault() ?? string.Empty;
        return line.StartsWith("gitdir: ", StringComparison.Ordinal) ? Path.GetFullPath(line["gitdir: ".Length..].Trim(), worktree) : null;
    }

    /// <summary>The mirror a worktree belongs to (from its <c>.git</c> file), when it is one of ours.</summary>
    internal string? MirrorOf(string worktree)
    {
        // gitdir: WORKSPACES_DIR/mirrors/X.git/worktrees/NAME
        if (AdminDirOf(worktree) is not { } admin)
        {
            return null;
        }

        var mirror = Path.GetDirectoryName(Path.GetDirectoryName(admin));
        var mirrors = Path.Combine(Root, "mirrors");
        return mirror is not null && Path.GetDirectoryName(mirror) == mirrors && Path.GetFileName(Path.GetDirectoryName(admin)) == "worktrees"
            ? mirror
            : null;
    }

    /// <summary>Anything in the worktree besides the checked-out commit (modified, untracked or ignored), or null.</summary>
    private async Task<string?> LeftoversAsync(string worktree, CancellationToken cancellationToken)
    {
        var status = await git.RunAsync(worktree, ["status", "--porcelain", "--ignored", "--untracked-files=all", "-z"], cancellationToken);
        var paths = status.Stdout.Split('\0', StringSplitOptions.RemoveEmptyEntries);
        return paths.Length == 0 ? null : $"{paths.Length} changed, untracked or ignored path(s), e.g. {paths[0]}";
    }

    /// <summary>Every untracked path, ignored ones included (an untracked directory as one entry).</summary>
    private async Task<string[]> UntrackedAsync(string worktree, CancellationToken cancellationToken) =>
        (await git.RunAsync(worktree, ["ls-files", "--others", "--directory", "-z"], cancellationToken)).Stdout.Split('\0', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Allocated size of a worktree's files (as <c>du</c> would count them, 4 KiB blocks), its <c>.git</c> file included.</summary>
    private static long DiskKib(string worktree)
    {
        long kib = 4;
        foreach (var file in new DirectoryInfo(worktree).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true }))
        {
            kib += (file.Length + 4095) / 4096 * 4;
        }

        return kib;
    }

    /// <summary>A pooled worktree's directory name: when it was released, its size, and a random part.</summary>
    private sealed record PoolEntry(DateTimeOffset ReleasedAt, long Kib, string Random)
    {
        private const string TimeFormat = "yyyyMMdd'T'HHmmssfffffff";

        public string Name => string.Create(CultureInfo.InvariantCulture, $"{ReleasedAt.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture)}-{Kib}k-{Random}");

        public static bool TryParse(string path, out PoolEntry? entry)
        {
            entry = null;
            var parts = Path.GetFileName(path).Split('-');
            if (parts.Length != 3 || !parts[1].EndsWith('k') ||
                !DateTime.TryParseExact(parts[0], TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var released) ||
                !long.TryParse(parts[1][..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var kib))
            {
                return false;
            }

            entry = new PoolEntry(new DateTimeOffset(released, TimeSpan.Zero), kib, parts[2]);
            return true;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Releasing worktree {Worktree} failed (the reclaimer tries again)")]
    private static partial void LogReleaseFailed(ILogger logger, Exception exception, string worktree);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worktree {Worktree} pooled ({Kib} KiB)")]
    private static partial void LogPooled(ILogger logger, string worktree, long kib);

    [LoggerMessage(Level = LogLevel.Information, Message = "Recycled pooled worktree {Pooled} as {Worktree}")]
    private static partial void LogRecycled(ILogger logger, string pooled, string worktree);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worktree {Worktree} removed")]
    private static partial void LogRemoved(ILogger logger, string worktree);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worktree {Worktree} cannot be pooled, removing it: {Reason}")]
    private static partial void LogNotPoolable(ILogger logger, string worktree, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pooled worktree {Worktree} cannot be recycled, removing it: {Reason}")]
    private static partial void LogNotRecyclable(ILogger logger, string worktree, string reason);
}
