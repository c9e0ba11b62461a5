namespace DevOrchestrator.Hosting;

/// <summary>
/// <c>CORS_ALLOWED_ORIGINS</c>: the exact origins whose browser pages may call the API (ASP.NET Core's CORS middleware,
/// one default policy). A preflight from a listed origin is answered 204 with the allowed methods and headers; from any
/// other origin it is refused with 403 in the error envelope. A plain request from an unlisted origin gets no CORS
/// headers (the browser keeps the answer from the page). No credentials mode: the API takes bearer tokens, not
/// cookies. Unset: no CORS middleware and no CORS header at all.
/// </summary>
public static class CorsAllowList
{
    private static readonly string[] s_methods = ["GET", "POST", "PUT", "PATCH", "DELETE"];
    private static readonly string[] s_requestHeaders = ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id", "Last-Event-ID"];
    private static readonly string[] s_exposedHeaders =
        [JsonLogging.RequestIdHeader, "Location", "Retry-After", ApiRateLimiter.LimitHeader, ApiRateLimiter.RemainingHeader, ApiRateLimiter.ResetHeader, "Deprecation", "Sunset", "Link"];

    public static IServiceCollection AddCorsAllowList(this IServiceCollection services, HttpEdgeOptions options)
    {
        var origins = options.CorsOrigins();
        if (origins.Count == 0)
        {
            return services;
        }

        return services.AddCors(o => o.AddDefaultPolicy(policy => policy
            .WithOrigins([.. origins])
            .WithMethods(s_methods)
            .WithHeaders(s_requestHeaders)
            .WithExposedHeaders(s_exposedHeaders)
            .SetPreflightMaxAge(TimeSpan.FromMinutes(10))));
    }

    public static IApplicationBuilder UseCorsAllowList(this IApplicationBuilder app, HttpEdgeOptions options)
    {
        var origins = options.CorsOrigins().ToHashSet(StringComparer.OrdinalIgnoreCase);
        if (origins.Count == 0)
        {
            return app;
        }

        app.Use(async (context, next) =>
        {
            var request = context.Request;
            var origin = request.Headers.Origin.ToString();
            if (HttpMethods.IsOptions(request.Method) && origin.Length > 0 && request.Headers.AccessControlRequestMethod.Count > 0 && !origins.Contains(origin))
            {
                await Api.Error(context, StatusCodes.Status403Forbidden, ErrorCodes.Forbidden,
                    $"The origin {origin} is not allowed to call this API from a browser (CORS_ALLOWED_ORIGINS).").ExecuteAsync(context);
                return;
            }

            await next(context);
        });
        return app.UseCors();
    }
}
