using System.Globalization;

namespace DevOrchestrator.Hosting;

/// <summary>
/// The security headers of every response the service writes — successes, errors, 404s, <c>/metrics</c>, <c>/docs</c>,
/// <c>/redoc</c>: <c>X-Content-Type-Options: nosniff</c>, <c>X-Frame-Options: DENY</c>, <c>Referrer-Policy: no-referrer</c>,
/// <c>Cross-Origin-Opener-Policy: same-origin</c>, a <c>Permissions-Policy</c> that turns off the browser features no page
/// of the service uses, and a <c>Content-Security-Policy</c>: nothing may load for JSON and text answers; the API reference
/// pages may load what they use. <c>Strict-Transport-Security</c> on HTTPS requests (also those a trusted proxy marks
/// HTTPS) when <c>HSTS_MAX_AGE_SECONDS</c> is above 0. Set when the response starts, so an error answer that cleared the
/// headers gets them too. Kestrel sends no <c>Server</c> header (<see cref="DevOrchestratorApp"/>).
/// </summary>
public static class SecurityHeaders
{
    /// <summary>For JSON, Prometheus text and every other non-page answer: nothing may load, nothing may frame it.</summary>
    public const string StrictPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    /// <summary>
    /// <c>/docs</c> (Scalar): its own script and styles from <c>/docs/</c>, its inline start-up script and the styles it
    /// injects, the OpenAPI document and "try it" requests to this origin, images and fonts inlined as data.
    /// </summary>
    public const string ScalarPolicy = "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        + "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
        + "frame-ancestors 'none'; base-uri 'self'; form-action 'none'";

    /// <summary><c>/hangfire</c> (the job dashboard): its scripts and styles (some inline) and its own requests.</summary>
    public const string DashboardPolicy = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        + "img-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

    public const string PermissionsPolicy = "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
        + "magnetometer=(), microphone=(), payment=(), usb=()";

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app, HttpEdgeOptions options)
    {
        var hsts = options.HstsMaxAgeSeconds > 0 ? "max-age=" + options.HstsMaxAgeSeconds.ToString(CultureInfo.InvariantCulture) : null;
        return app.Use((context, next) =>
        {
            context.Response.OnStarting(static state =>
            {
                var (http, hsts) = ((HttpContext, string?))state;
                Apply(http, hsts);
                return Task.CompletedTask;
            }, (context, hsts));
            return next(context);
        });
    }

    /// <summary>The Content-Security-Policy of a response to <paramref name="path"/>.</summary>
    public static string PolicyFor(PathString path) =>
        path.StartsWithSegments("/docs", StringComparison.OrdinalIgnoreCase) ? ScalarPolicy
        : path.StartsWithSegments("/redoc", StringComparison.OrdinalIgnoreCase) ? ApiReferencePage.ContentSecurityPolicy
        : path.StartsWithSegments("/hangfire", StringComparison.OrdinalIgnoreCase) ? DashboardPolicy
        : StrictPolicy;

    private static void Apply(HttpContext context, string? hsts)
    {
        var headers = context.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Permissions-Policy"] = PermissionsPolicy;
        headers.ContentSecurityPolicy = PolicyFor(context.Request.Path);
        if (hsts is not null && context.Request.IsHttps)
        {
            headers.StrictTransportSecurity = hsts;
        }
    }
}
