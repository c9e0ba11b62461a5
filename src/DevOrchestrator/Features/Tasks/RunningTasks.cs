using System.Collections.Concurrent;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Health;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Tasks;

/// <summary>
/// The tasks this worker process is running. One loop for all of them: every quarter second it looks for cancel requests
/// (made by any API replica) and cancels those runs; every third of the lease it renews the leases of all of them in one
/// statement. A run whose lease was lost (taken over after this worker stalled) is cancelled too.
/// </summary>
public sealed partial class RunningTasks(
    IDbContextFactory<AppDbContext> dbContexts, WorkerIdentity identity, IOptions<QueueOptions> queue, DevOrchestratorMetrics metrics, TimeProvider timeProvider, ILogger<RunningTasks> logger)
    : BackgroundService
{
    public static readonly TimeSpan CancelPollInterval = TimeSpan.FromMilliseconds(250);

    private readonly ConcurrentDictionary<long, CancellationTokenSource> _runs = new();
    private DateTimeOffset _nextRenewal;

    public TimeSpan Lease => TimeSpan.FromSeconds(queue.Value.TaskLeaseSeconds);

    public int Count => _runs.Count;

    /// <summary>Registers a claimed task; the token is cancelled on a cancel request, a lost lease or shutdown.</summary>
    public CancellationTokenSource Register(long taskId, CancellationToken shutdown)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(shutdown);
        _runs[taskId] = cts;
        metrics.TasksRunning.Set(_runs.Count);
        return cts;
    }

    public void Unregister(long taskId)
    {
        if (_runs.TryRemove(taskId, out var cts))
        {
            cts.Dispose();
        }

        // This process's own runs (0 in an API-only process): summed over replicas, the fleet's.
        metrics.TasksRunning.Set(_runs.Count);
    }

    /// <summary>Cancels a run of this process at once (the API of the same process calls this).</summary>
    public void Cancel(long taskId)
    {
        if (_runs.TryGetValue(taskId, out var cts))
        {
            try
            {
                cts.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(CancelPollInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (_runs.IsEmpty)
                {
                    continue;
                }

                try
                {
                    await CheckAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogCheckFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task CheckAsync(CancellationToken cancellationToken)
    {
        var ids = _runs.Keys.ToList();
        await using var db = dbContexts.CreateDbContext();
        var now = timeProvider.GetUtcNow();
        var workerId = identity.Id;

        var stop = await db.Tasks.AsNoTracking()
            .Where(t => ids.Contains(t.Id) && (t.CancelRequestedAt != null || t.WorkerId != workerId || t.Status != TaskStatuses.Running))
            .Select(t => t.Id).ToListAsync(cancellationToken);
        foreach (var id in stop)
        {
            Cancel(id);
        }

        if (now >= _nextRenewal)
        {
            var leaseUntil = now + Lease;
            await db.Tasks.Where(t => ids.Contains(t.Id) && t.WorkerId == workerId && t.Status == TaskStatuses.Running)
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.LeaseExpiresAt, leaseUntil), cancellationToken);
            _nextRenewal = now + Lease / 3;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checking running tasks for cancellation failed; retrying")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception);
}
