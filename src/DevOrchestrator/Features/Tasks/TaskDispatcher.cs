using System.Collections.Concurrent;
using System.Data.Common;
using DevOrchestrator.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DevOrchestrator.Features.Tasks;

/// <summary>
/// The tasks table is the queue. Each worker process runs one dispatcher: while it has free slots (<c>MAX_WORKERS</c>)
/// it claims queued tasks — and running tasks whose lease has expired, because their worker died — in one statement
/// (<c>FOR UPDATE SKIP LOCKED</c> on PostgreSQL, so workers never wait for each other; one writer at a time on SQLite),
/// then runs each claimed task (<see cref="TaskRun"/>). It sleeps until <see cref="TaskWakeup"/> is pulsed (a task was
/// queued in this process, a NOTIFY from another process, a run ended) or the poll interval
/// (<c>SWEEPER_INTERVAL_SECONDS</c>) passes. Nothing else is needed to recover a lost task: a task without a live claim
/// is simply claimable again, by exactly one worker. Transient database errors are retried with backoff; nothing here
/// makes the process exit.
/// </summary>
public sealed partial class TaskDispatcher(
    IServiceScopeFactory scopes,
    IDbContextFactory<AppDbContext> dbContexts,
    TaskWakeup wakeup,
    RunningTasks runningTasks,
    WorkerIdentity identity,
    Costs.CostLedger ledger,
    IOptions<QueueOptions> queue,
    TimeProvider timeProvider,
    ILogger<TaskDispatcher> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<long, Task> _runs = new();
    private DateTimeOffset _nextHousekeeping;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pollInterval = TimeSpan.FromSeconds(queue.Value.SweeperIntervalSeconds);
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            var wake = wakeup.Next;
            var more = false;
            try
            {
                var free = queue.Value.MaxWorkers - _runs.Count;
                if (free > 0)
                {
                    var claimed = await ClaimAsync(free, stoppingToken);
                    foreach (var claim in claimed)
                    {
                        Start(claim, stoppingToken);
                    }

                    more = claimed.Count == free;
                }

                await HousekeepingAsync(stoppingToken);
                failures = 0;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                failures++;
                LogClaimFailed(logger, ex, failures);
                wake = Task.Delay(TimeSpan.FromSeconds(Math.Min(30, 0.5 * Math.Pow(2, Math.Min(failures, 6)))), timeProvider, stoppingToken);
            }

            if (more && _runs.Count < queue.Value.MaxWorkers)
            {
                continue;
            }

            try
            {
                await wake.WaitAsync(pollInterval, timeProvider, stoppingToken);
            }
            catch (TimeoutException)
            {
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
        }

        // Shutdown: the runs saw the token and hand their tasks back; wait for them to record it.
        await Task.WhenAll(_runs.Values);
    }

    private void Start(ClaimedTask claim, CancellationToken stoppingToken)
    {
        var run = Task.Run(async () =>
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<TaskRun>().RunAsync(claim, stoppingToken);
            }
            catch (Exception ex)
            {
                // TaskRun records every outcome itself; this is a bug or the database gone for good. The lease runs out
                // and another claim takes the task over.
                LogRunEscaped(logger, ex, claim.Id);
            }
            finally
            {
                _runs.TryRemove(claim.Id, out _);
                wakeup.Pulse();
            }
        }, CancellationToken.None);
        _runs[claim.Id] = run;
    }

    /// <summary>Claims up to <paramref name="max"/> tasks for this worker, atomically.</summary>
    public async Task<IReadOnlyList<ClaimedTask>> ClaimAsync(int max, CancellationToken cancellationToken)
    {
        return await TransientDatabaseErrors.Retry.ExecuteAsync(async ct =>
        {
            await using var db = dbContexts.CreateDbContext();
            var now = timeProvider.GetUtcNow();
            var lease = now + runningTasks.Lease;
            return db.Database.IsNpgsql()
                ? await ClaimOnPostgresAsync(db, max, now, lease, ct)
                : await ClaimOnSqliteAsync(db, max, now, lease, ct);
        }, cancellationToken);
    }

    private async Task<IReadOnlyList<ClaimedTask>> ClaimOnPostgresAsync(AppDbContext db, int max, DateTimeOffset now, DateTimeOffset lease, CancellationToken cancellationToken)
    {
        const string sql = """
            WITH candidates AS (
                SELECT id, status FROM tasks
                WHERE cancel_requested_at IS NULL
                  AND (status = 'queued' OR (status = 'running' AND lease_expires_at < @now))
                ORDER BY id
                LIMIT @max
                FOR UPDATE SKIP LOCKED)
            UPDATE tasks AS t
            SET status = 'running', worker_id = @worker, lease_expires_at = @lease, attempts = t.attempts + 1,
                started_at = COALESCE(t.started_at, @now), updated_at = @now
            FROM candidates AS c
            WHERE t.id = c.id
            RETURNING t.id, c.status
            """;
        var connection = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.Parameters.Add(new NpgsqlParameter("now", now));
            command.Parameters.Add(new NpgsqlParameter("lease", lease));
            command.Parameters.Add(new NpgsqlParameter("max", max));
            command.Parameters.Add(new NpgsqlParameter("worker", identity.Id));
            return await ReadClaimsAsync(command, cancellationToken);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>SQLite has one writer at a time and serves one process (role all): find, then claim each conditionally.</summary>
    private async Task<IReadOnlyList<ClaimedTask>> ClaimOnSqliteAsync(AppDbContext db, int max, DateTimeOffset now, DateTimeOffset lease, CancellationToken cancellationToken)
    {
        var candidates = await db.Tasks.AsNoTracking()
            .Where(t => t.CancelRequestedAt == null && (t.Status == TaskStatuses.Queued || (t.Status == TaskStatuses.Running && t.LeaseExpiresAt < now)))
            .OrderBy(t => t.Id).Select(t => new { t.Id, t.Status }).Take(max).ToListAsync(cancellationToken);
        var claimed = new List<ClaimedTask>(candidates.Count);
        var workerId = identity.Id;
        foreach (var candidate in candidates)
        {
            var updated = await db.Tasks
                .Where(t => t.Id == candidate.Id && t.CancelRequestedAt == null &&
                            (t.Status == TaskStatuses.Queued || (t.Status == TaskStatuses.Running && t.LeaseExpiresAt < now)))
                .ExecuteUpdateAsync(s => s
                    .SetProperty(t => t.Status, TaskStatuses.Running)
                    .SetProperty(t => t.WorkerId, workerId)
                    .SetProperty(t => t.LeaseExpiresAt, lease)
                    .SetProperty(t => t.Attempts, t => t.Attempts + 1)
                    .SetProperty(t => t.StartedAt, t => t.StartedAt ?? now)
                    .SetProperty(t => t.UpdatedAt, now), cancellationToken);
            if (updated == 1)
            {
                claimed.Add(new ClaimedTask(candidate.Id, candidate.Status));
            }
        }

        return claimed;
    }

    private static async Task<IReadOnlyList<ClaimedTask>> ReadClaimsAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var claimed = new List<ClaimedTask>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            claimed.Add(new ClaimedTask(reader.GetInt64(0), reader.GetString(1)));
        }

        return claimed;
    }

    /// <summary>
    /// Every poll interval: budget reservations of calls whose worker died go back to the month and the task, and a task
    /// whose worker died after a cancel request is recorded as cancelled (it is not claimable again).
    /// </summary>
    private async Task HousekeepingAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (now < _nextHousekeeping)
        {
            return;
        }

        _nextHousekeeping = now + TimeSpan.FromSeconds(queue.Value.SweeperIntervalSeconds);
        await ledger.ReleaseExpiredAsync(cancellationToken);
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        var abandoned = await db.Tasks.AsNoTracking()
            .Where(t => t.Status == TaskStatuses.Running && t.LeaseExpiresAt < now && t.CancelRequestedAt != null)
            .OrderBy(t => t.Id).Select(t => new { t.Id, t.WorkerId }).Take(100).ToListAsync(cancellationToken);
        var lifecycle = scope.ServiceProvider.GetRequiredService<TaskLifecycle>();
        foreach (var task in abandoned)
        {
            await lifecycle.CancelAbandonedAsync(task.Id, task.WorkerId);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Claiming tasks failed ({Failures} time(s) in a row); retrying with backoff")]
    private static partial void LogClaimFailed(ILogger logger, Exception exception, int failures);

    [LoggerMessage(Level = LogLevel.Error, Message = "The run of task {TaskId} ended without recording its outcome; its lease will run out and it will be claimed again")]
    private static partial void LogRunEscaped(ILogger logger, Exception exception, long taskId);
}
