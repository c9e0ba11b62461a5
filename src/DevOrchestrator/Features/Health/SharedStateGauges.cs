using DevOrchestrator.Data;
using DevOrchestrator.Features.Costs;
using DevOrchestrator.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Health;

/// <summary>
/// Keeps the gauges that describe the shared database — <c>tasks_queued</c> (and its alias <c>queue_depth</c>), <c>oldest_queued_task_age_seconds</c>,
/// <c>budget_monthly_spent_usd</c> — fresh by reading it every <see cref="Interval"/> in the background, so that a
/// scrape never waits on a query. Every replica reads the same rows: dashboards and alerts take max(), not sum(), of
/// these. Also sets <c>worker_up</c> and <c>budget_monthly_limit_usd</c>, which come from this process's settings.
/// </summary>
public sealed partial class SharedStateGauges(
    DevOrchestratorMetrics metrics,
    IDbContextFactory<AppDbContext> dbContexts,
    IOptions<BudgetOptions> budget,
    ServeOptions serve,
    TimeProvider timeProvider,
    ILogger<SharedStateGauges> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        metrics.WorkerUp.Set(serve.Role.RunsWorkers() ? 1 : 0);
        metrics.BudgetMonthlyLimit.Set((double)budget.Value.MonthlyBudgetUsd);
        using var timer = new PeriodicTimer(Interval, timeProvider);
        do
        {
            try
            {
                await RefreshAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // The database may be down for a while (health reports it); the gauges keep their last values.
                LogRefreshFailed(logger, ex.GetType().Name, ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Reads the queue and the month's spending once.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await using var db = dbContexts.CreateDbContext();
        var now = timeProvider.GetUtcNow();
        var queued = db.Tasks.AsNoTracking().Where(t => t.Status == TaskStatuses.Queued);
        var count = await queued.CountAsync(cancellationToken);
        var oldest = count == 0 ? null : await queued.Where(t => t.QueuedAt != null).OrderBy(t => t.QueuedAt).Select(t => t.QueuedAt).FirstOrDefaultAsync(cancellationToken);
        var month = CostLedger.MonthOf(now);
        var spent = await db.BudgetMonths.AsNoTracking().Where(b => b.Month == month).Select(b => (long?)b.SpentMicros).FirstOrDefaultAsync(cancellationToken) ?? 0;

        metrics.TasksQueued.Set(count);
        metrics.QueueDepth.Set(count);
        metrics.OldestQueuedTaskAge.Set(oldest is { } at ? Math.Max(0, (now - at).TotalSeconds) : 0);
        metrics.BudgetMonthlySpent.Set((double)Money.ToUsd(spent));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not refresh the queue and budget gauges: {Error}: {Message}")]
    private static partial void LogRefreshFailed(ILogger logger, string error, string message);
}
