using DevOrchestrator.Data;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Features.Costs;
using DevOrchestrator.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Tasks;

/// <summary>
/// <c>GET /api/v1/metrics</c>: a JSON summary of the installation in the envelope, read from the shared database (the
/// same on every replica). Prometheus text is served at <c>/metrics</c> for scrapers.
/// </summary>
public static class MetricsSummaryApi
{
    public sealed record MetricsSummaryResponse(
        IReadOnlyDictionary<string, long> TasksByStatus,
        long QueueDepth,
        double? OldestQueuedAgeSeconds,
        long ActiveAgents,
        SpendSummary Spend);

    /// <summary>Model spending: today and this month (UTC), against the monthly budget.</summary>
    public sealed record SpendSummary(
        decimal TodayUsd, string Month, decimal MonthUsd, decimal ReservedUsd, decimal MonthlyBudgetUsd, decimal RemainingUsd, decimal PerTaskLimitUsd,
        bool CostTrackingEnabled);

    public static IEndpointRouteBuilder MapMetricsSummaryApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/metrics", GetAsync).RequireAuthorization(Roles.CanView).WithTags("Health")
            .WithSummary("A JSON summary: tasks by status, queue depth, age of the oldest queued task, active agents, spend today and this month against the budget. Prometheus text is at /metrics.")
            .ProducesData<MetricsSummaryResponse>();
        return app;
    }

    private static async Task<JsonHttpResult<ApiResponse<MetricsSummaryResponse>>> GetAsync(
        HttpContext context, AppDbContext db, IOptions<BudgetOptions> budgetOptions, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var counts = await db.Tasks.AsNoTracking().GroupBy(t => t.Status).Select(g => new { Status = g.Key, Count = g.LongCount() }).ToListAsync(cancellationToken);
        var byStatus = TaskStatuses.All.ToDictionary(s => s, s => counts.FirstOrDefault(c => c.Status == s)?.Count ?? 0, StringComparer.Ordinal);
        var oldest = await db.Tasks.AsNoTracking().Where(t => t.Status == TaskStatuses.Queued && t.QueuedAt != null)
            .OrderBy(t => t.QueuedAt).Select(t => t.QueuedAt).FirstOrDefaultAsync(cancellationToken);
        var activeAgents = await db.AgentExecutions.AsNoTracking().LongCountAsync(a => a.Status == AgentStatuses.Running, cancellationToken);

        var month = CostLedger.MonthOf(now);
        var budget = await db.BudgetMonths.AsNoTracking().FirstOrDefaultAsync(b => b.Month == month, cancellationToken);
        var dayStart = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        // Summed here: SQLite cannot sum decimals in SQL. A day's calls are few enough to read.
        var today = (await db.CostEntries.AsNoTracking().Where(c => c.CreatedAt >= dayStart).Select(c => c.Usd).ToListAsync(cancellationToken)).Sum();
        var spent = Money.ToUsd(budget?.SpentMicros ?? 0);
        var reserved = Money.ToUsd(budget?.ReservedMicros ?? 0);
        var settings = budgetOptions.Value;
        var spend = new SpendSummary(today, month, spent, reserved, settings.MonthlyBudgetUsd, CostsApi.Remaining(settings.MonthlyBudgetUsd, spent, reserved),
            settings.PerTaskLimitUsd, settings.CostTrackingEnabled);
        return Api.Ok(context, new MetricsSummaryResponse(byStatus, byStatus[TaskStatuses.Queued],
            oldest is { } at ? Math.Round(Math.Max(0, (now - at).TotalSeconds), 3) : null, activeAgents, spend));
    }
}
