using System.Globalization;
using DevOrchestrator.Data;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Workspaces;

/// <summary>
/// Releases the worktrees of finished workflow executions that nobody released (a worker that died, or a run that ended
/// before the release call): at start and then every minute, each directory under <c>WORKSPACES_DIR/tasks</c> whose
/// execution is completed, failed, cancelled or over budget — for at least <see cref="Grace"/>, so that whoever finished
/// it can still read it — or no longer exists in the database, goes back to its mirror's pool (or is removed). Work is
/// proportional to the worktrees on this machine's disk, not to the executions in the database.
/// </summary>
public sealed partial class WorkspaceReclaimer(IDbContextFactory<AppDbContext> dbContexts, WorkspacePool pool, TimeProvider timeProvider, ILogger<WorkspaceReclaimer> logger)
    : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    public static readonly TimeSpan Grace = TimeSpan.FromMinutes(1);

    private static readonly string[] s_finished = [WorkflowStatuses.Completed, WorkflowStatuses.Failed, WorkflowStatuses.Cancelled, WorkflowStatuses.BudgetExceeded];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, timeProvider);
        try
        {
            do
            {
                try
                {
                    var reclaimed = await ReclaimAsync(stoppingToken);
                    if (reclaimed > 0)
                    {
                        LogReclaimed(logger, reclaimed);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogReclaimFailed(logger, ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <returns>How many worktrees were released.</returns>
    public async Task<int> ReclaimAsync(CancellationToken cancellationToken)
    {
        var tasks = Path.Combine(pool.Root, "tasks");
        if (!Directory.Exists(tasks))
        {
            return 0;
        }

        var onDisk = new Dictionary<long, string>();
        foreach (var directory in Directory.EnumerateDirectories(tasks))
        {
            // task-{task id}-{execution id}
            var parts = Path.GetFileName(directory).Split('-');
            if (parts.Length == 3 && parts[0] == "task" &&
                long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var executionId))
            {
                onDisk[executionId] = directory;
            }
        }

        if (onDisk.Count == 0)
        {
            return 0;
        }

        var finishedBefore = timeProvider.GetUtcNow() - Grace;
        var live = new HashSet<long>();
        var finished = new List<long>();
        await using (var db = dbContexts.CreateDbContext())
        {
            foreach (var chunk in onDisk.Keys.Chunk(500))
            {
                var rows = await db.WorkflowExecutions.AsNoTracking()
                    .Where(w => chunk.Contains(w.Id))
                    .Select(w => new { w.Id, w.Status, w.CompletedAt })
                    .ToListAsync(cancellationToken);
                foreach (var row in rows)
                {
                    live.Add(row.Id);
                    if (s_finished.Contains(row.Status) && (row.CompletedAt is null || row.CompletedAt <= finishedBefore))
                    {
                        finished.Add(row.Id);
                    }
                }
            }
        }

        var reclaimed = 0;
        foreach (var (executionId, directory) in onDisk)
        {
            if (finished.Contains(executionId) || !live.Contains(executionId))
            {
                await pool.ReleaseAsync(directory, cancellationToken);
                reclaimed++;
            }
        }

        return reclaimed;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Released {Count} worktree(s) of finished workflow executions")]
    private static partial void LogReclaimed(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Releasing the worktrees of finished workflow executions failed")]
    private static partial void LogReclaimFailed(ILogger logger, Exception exception);
}
