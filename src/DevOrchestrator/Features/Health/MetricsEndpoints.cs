using Prometheus;

namespace DevOrchestrator.Features.Health;

public static class MetricsEndpoints
{
    public static IServiceCollection AddPrometheusMetrics(this IServiceCollection services)
    {
        services.AddSingleton<DevOrchestratorMetrics>();
        services.AddHostedService<SharedStateGauges>();
        return services;
    }

    /// <summary>Counts and times every request by its route template (<c>/api/v1/tasks/{id}</c>), or <c>unmatched</c>.</summary>
    public static IApplicationBuilder UseHttpMetrics(this WebApplication app)
    {
        var metrics = app.Services.GetRequiredService<DevOrchestratorMetrics>();
        var time = app.Services.GetRequiredService<TimeProvider>();
        app.UseRouting();
        return app.Use(async (context, next) =>
        {
            var started = time.GetTimestamp();
            try
            {
                await next(context);
            }
            finally
            {
                var endpoint = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
                if (!endpoint.StartsWith('/'))
                {
                    endpoint = "/" + endpoint;
                }

                var method = context.Request.Method;
                metrics.HttpRequests.WithLabels(method, endpoint, context.Response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
                metrics.HttpDuration.WithLabels(method, endpoint).Observe(time.GetElapsedTime(started).TotalSeconds);
            }
        });
    }

    public static IEndpointRouteBuilder MapMetricsEndpoints(this IEndpointRouteBuilder app)
    {
        var metrics = app.ServiceProvider.GetRequiredService<DevOrchestratorMetrics>();
        app.MapMetrics("/metrics", metrics.Registry).AllowAnonymous().ExcludeFromDescription();
        return app;
    }
}
