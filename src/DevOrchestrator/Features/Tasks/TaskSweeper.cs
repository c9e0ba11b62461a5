using DevOrchestrator.Data;
using DevOrchestrator.Hosting;
using Hangfire;
using Hangfire.States;
using Hangfire.Storage;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Tasks;

/// <summary>
/// Recovers what a crash or restart lost: at start and then every <c>SWEEPER_INTERVAL_SECONDS</c> it enqueues a job for
/// every queued task whose job is not alive in the job storage (lost with an in-memory queue, or never enqueued) and
/// for every running task whose lease has expired (its worker died). The claim in <see cref="TaskJob"/> makes a
/// duplicate job harmless.
/// </summary>
public sealed partial class TaskSweeper(IServiceScopeFactory scopes, JobStorage storage, Costs.CostLedger ledger, DevOrchestratorSettings settings, TimeProvider timeProvider, ILogger<TaskSweeper> logger)
    : BackgroundService
{
    private static readonly TimeSpan s_queuedGrace = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(settings.SweeperIntervalSeconds), timeProvider);
        try
        {
            do
            {
                try
                {
                    var recovered = await SweepAsync(stoppingToken);
                    if (recovered > 0)
                    {
                        LogRecovered(logger, recovered);
                    }

                    // Budget reservations of calls whose worker died mid-call go back to the month and the task.
                    await ledger.ReleaseExpiredAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogSweepFailed(logger, ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <returns>How many tasks were enqueued again.</returns>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        var queue = scope.ServiceProvider.GetRequiredService<TaskQueue>();
        var now = timeProvider.GetUtcNow();
        var queuedBefore = now - s_queuedGrace;

        var orphans = await db.Tasks.AsNoTracking()
            .Where(t => (t.Status == TaskStatuses.Queued && t.QueuedAt < queuedBefore && t.CancelRequestedAt == null) ||
                        (t.Status == TaskStatuses.Running && t.LeaseExpiresAt < now))
            .OrderBy(t => t.Id)
            .Select(t => new { t.Id, t.Status, t.JobId })
            .Take(1000)
            .ToListAsync(cancellationToken);

        var recovered = 0;
        using var connection = storage.GetConnection();
        foreach (var orphan in orphans)
        {
            if (orphan.Status == TaskStatuses.Queued && orphan.JobId is not null && IsAlive(connection, orphan.JobId))
            {
                continue;
            }

            var jobId = queue.Enqueue(orphan.Id);
            await db.Tasks.Where(t => t.Id == orphan.Id).ExecuteUpdateAsync(s => s.SetProperty(t => t.JobId, jobId), cancellationToken);
            recovered++;
        }

        return recovered;
    }

    private static bool IsAlive(IStorageConnection connection, string jobId)
    {
        string? state;
        try
        {
            state = connection.GetJobData(jobId)?.State;
        }
        catch (Exception ex) when (ex is FormatException or OverflowException or ArgumentException)
        {
            // An id from another storage (the queue was switched, e.g. in-memory → PostgreSQL): that job is gone.
            return false;
        }

        return state == EnqueuedState.StateName || state == ProcessingState.StateName || state == ScheduledState.StateName || state == AwaitingState.StateName;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Re-enqueued {Count} task(s) that had no live job")]
    private static partial void LogRecovered(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sweeping for lost tasks failed; will retry")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
