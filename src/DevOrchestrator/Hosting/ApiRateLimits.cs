using Microsoft.AspNetCore.RateLimiting;

namespace DevOrchestrator.Hosting;

/// <summary>Registers and places the API's request limits (<see cref="ApiRateLimiter"/>); nothing when <c>API_RATE_LIMIT_ENABLED=false</c>.</summary>
public static class ApiRateLimits
{
    public static IServiceCollection AddApiRateLimits(this IServiceCollection services, ApiRateLimitOptions options)
    {
        if (!options.Enabled)
        {
            return services;
        }

        services.AddSingleton<ApiRateLimiter>();
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.OnRejected = ApiRateLimiter.RejectAsync;
        });
        services.AddOptions<RateLimiterOptions>().Configure<ApiRateLimiter>((o, limiter) => o.GlobalLimiter = limiter);
        return services;
    }

    /// <summary>After authentication (the user is the partition) and before authorization (a request without a valid token is counted per IP).</summary>
    public static WebApplication UseApiRateLimits(this WebApplication app, ApiRateLimitOptions options)
    {
        if (options.Enabled)
        {
            app.UseRateLimiter();
        }

        return app;
    }
}
