namespace DevOrchestrator.Hosting;

/// <summary>
/// <c>HTTPS_REDIRECT=true</c>: a plain HTTP request is answered with a 307 to the same URL over HTTPS (a request a
/// trusted proxy marks HTTPS is not). <c>/health…</c> and <c>/metrics</c> are left alone: probes and scrapers talk to
/// the replica directly, over plain HTTP.
/// </summary>
public static class HttpsRedirect
{
    public static IServiceCollection AddHttpsRedirect(this IServiceCollection services, HttpEdgeOptions options, string urls)
    {
        if (options.HttpsRedirect)
        {
            services.AddHttpsRedirection(o => o.HttpsPort = RedirectPort(options, urls));
        }

        return services;
    }

    public static IApplicationBuilder UseHttpsRedirect(this IApplicationBuilder app, HttpEdgeOptions options)
    {
        if (!options.HttpsRedirect)
        {
            return app;
        }

        return app.UseWhen(context => !IsProbeOrScrape(context.Request.Path), branch => branch.UseHttpsRedirection());
    }

    /// <summary>
    /// <c>HTTPS_PORT</c>; else, when the service listens on HTTPS itself, null (the middleware finds that port); else 443
    /// (TLS ends at a proxy on the standard port).
    /// </summary>
    internal static int? RedirectPort(HttpEdgeOptions options, string urls) =>
        options.HttpsPort ?? (urls.Contains("https://", StringComparison.OrdinalIgnoreCase) ? null : 443);

    private static bool IsProbeOrScrape(PathString path) =>
        path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments("/metrics", StringComparison.OrdinalIgnoreCase);
}
