using System.Text.Json.Serialization;
using DevOrchestrator.Data;
using DevOrchestrator.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DevOrchestrator.Features.Health;

/// <summary>
/// <c>/health</c> in the guide's shape (status healthy|degraded|unhealthy, timestamp, services{…}; 503 when unhealthy),
/// with each dependency's status also as a top-level key in the guide's flat form (<c>"database": "healthy"</c>);
/// <c>/health/live</c> (the process answers; runs no check) and <c>/health/ready</c> (the database answers and is
/// migrated; runs only the checks tagged <c>critical</c>, never a vendor probe, so a slow vendor delays neither probe).
/// Components register ordinary ASP.NET Core health checks; those tagged <c>critical</c> make the service unhealthy,
/// the others only degraded.
/// </summary>
public static class HealthEndpoints
{
    public const string Critical = "critical";

    public sealed record ServiceHealth(string Status, string? Message, double DurationMs, IReadOnlyDictionary<string, object>? Details);

    /// <summary>The answer of a probe: <c>alive</c> or <c>ready</c>.</summary>
    public sealed record ProbeResponse(string Status);

    public sealed record HealthReportResponse(string Status, DateTimeOffset Timestamp, string Version, string Role, IReadOnlyDictionary<string, ServiceHealth> Services)
    {
        /// <summary>
        /// The guide's flat form: each entry of <see cref="Services"/> again as a top-level key whose value is its status
        /// (<c>"database": "healthy"</c>, <c>"redis": "degraded"</c>), so that <c>jq -r .database</c> works.
        /// </summary>
        [JsonExtensionData]
        public IDictionary<string, object>? FlatStatuses { get; init; }
    }

    /// <summary>The report's own fields: a check of one of these names keeps its status in <c>services</c> only.</summary>
    private static readonly HashSet<string> s_reportFields = ["status", "timestamp", "version", "role", "services"];

    public static IServiceCollection AddDevOrchestratorHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database", HealthStatus.Unhealthy, [Critical]);
        return services;
    }

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health", ReportAsync).AllowAnonymous().WithTags("Health").WithSummary("Health of the service and each component.")
            .Produces<HealthReportResponse>().Produces<HealthReportResponse>(StatusCodes.Status503ServiceUnavailable);
        app.MapGet("/api/v1/health", ReportAsync).AllowAnonymous().WithTags("Health").WithSummary("Health of the service and each component.")
            .Produces<HealthReportResponse>().Produces<HealthReportResponse>(StatusCodes.Status503ServiceUnavailable);
        app.MapGet("/health/live", (HttpContext context) => Api.Ok(context, new ProbeResponse("alive"))).AllowAnonymous().WithTags("Health")
            .WithSummary("Liveness probe: the process answers.").ProducesData<ProbeResponse>();
        app.MapGet("/health/ready", ReadyAsync).AllowAnonymous().WithTags("Health")
            .WithSummary("Readiness probe: the database is reachable and migrated (503 otherwise).").ProducesData<ProbeResponse>();
        return app;
    }

    private static async Task<IResult> ReadyAsync(HttpContext context, HealthCheckService health, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(r => r.Tags.Contains(Critical), cancellationToken);
        return report.Status == HealthStatus.Healthy
            ? Api.Ok(context, new ProbeResponse("ready"))
            : Api.Error(context, StatusCodes.Status503ServiceUnavailable, ErrorCodes.Unavailable, "Not ready: " +
                string.Join("; ", report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy).Select(e => $"{e.Key}: {e.Value.Description}")));
    }

    private static async Task<IResult> ReportAsync(HttpContext context, HealthCheckService health, TimeProvider timeProvider, ServeOptions serve, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(cancellationToken);
        var services = report.Entries.ToDictionary(
            e => e.Key,
            e => new ServiceHealth(
                e.Value.Status switch { HealthStatus.Healthy => "healthy", HealthStatus.Degraded => "degraded", _ => "unhealthy" },
                e.Value.Description,
                Math.Round(e.Value.Duration.TotalMilliseconds, 2),
                e.Value.Data.Count > 0 ? e.Value.Data : null));
        var criticalDown = report.Entries.Any(e => e.Value.Tags.Contains(Critical) && e.Value.Status == HealthStatus.Unhealthy);
        var anyDown = report.Entries.Any(e => e.Value.Status != HealthStatus.Healthy);
        var status = criticalDown ? "unhealthy" : anyDown ? "degraded" : "healthy";
        var body = new HealthReportResponse(status, timeProvider.GetUtcNow(), typeof(HealthEndpoints).Assembly.GetName().Version?.ToString(3) ?? "0.0.0",
            serve.Role.ToString().ToLowerInvariant(), services)
        {
            FlatStatuses = services.Where(s => !s_reportFields.Contains(s.Key)).ToDictionary(s => s.Key, s => (object)s.Value.Status, StringComparer.Ordinal),
        };
        return TypedResults.Json(body, JsonDefaults.Options, statusCode: criticalDown ? 503 : 200);
    }
}

internal sealed class DatabaseHealthCheck(AppDbContext db) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var provider = db.Database.IsNpgsql() ? "postgresql" : "sqlite";
        try
        {
            var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
            if (pending.Count > 0)
            {
                return HealthCheckResult.Unhealthy($"{pending.Count} migration(s) not applied: run 'devorch db migrate'.",
                    data: new Dictionary<string, object> { ["provider"] = provider });
            }

            return HealthCheckResult.Healthy(null, new Dictionary<string, object> { ["provider"] = provider });
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy($"cannot reach the {provider} database: {ex.GetType().Name}",
                data: new Dictionary<string, object> { ["provider"] = provider });
        }
    }
}
