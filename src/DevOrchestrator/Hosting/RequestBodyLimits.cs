using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Hosting;

/// <summary>
/// The request body limit of each route: <c>WEBHOOK_MAX_BODY_BYTES</c> for <c>/webhooks/…</c>,
/// <c>API_MAX_BODY_BYTES</c> for everything else. A declared <c>Content-Length</c> above the limit is answered at once;
/// a body without one (chunked) is counted as it is read (<see cref="ReadAsync"/>). Either way the answer is 413
/// <c>PAYLOAD_TOO_LARGE</c> in the error envelope, naming the setting and the limit. Kestrel's own limit is the largest
/// route's; a body read past it elsewhere throws the <see cref="BadHttpRequestException"/> that
/// <see cref="ApiExceptionHandler"/> answers the same way.
/// </summary>
public static class RequestBodyLimits
{
    /// <summary>The limit of <paramref name="path"/> and the setting that sets it.</summary>
    public static (long Limit, string Setting) For(PathString path, HttpEdgeOptions options) =>
        path.StartsWithSegments("/webhooks", StringComparison.OrdinalIgnoreCase)
            ? (options.WebhookMaxBodyBytes, "WEBHOOK_MAX_BODY_BYTES")
            : (options.ApiMaxBodyBytes, "API_MAX_BODY_BYTES");

    /// <summary>The limit of this request (the route's).</summary>
    public static long For(HttpContext context) => For(context.Request.Path, Options(context)).Limit;

    /// <summary>Kestrel's own limit: the largest route limit, so that no route's limit is cut short by it.</summary>
    public static IWebHostBuilder UseLargestBodyLimit(this IWebHostBuilder builder, HttpEdgeOptions options) =>
        builder.ConfigureKestrel(o => o.Limits.MaxRequestBodySize = options.LargestBodyLimit);

    public static IApplicationBuilder UseRequestBodyLimits(this IApplicationBuilder app, HttpEdgeOptions options) => app.Use(async (context, next) =>
    {
        var (limit, _) = For(context.Request.Path, options);
        if (context.Request.ContentLength > limit)
        {
            await TooLarge(context).ExecuteAsync(context);
            return;
        }

        await next(context);
    });

    /// <summary>The 413 answer of a body above this request's limit.</summary>
    public static JsonHttpResult<ApiErrorResponse> TooLarge(HttpContext context)
    {
        var (limit, setting) = For(context.Request.Path, Options(context));
        var message = string.Create(CultureInfo.InvariantCulture, $"The request body is larger than {Describe(limit)}, the limit of this route ({setting}).");
        return Api.Error(context, StatusCodes.Status413PayloadTooLarge, ErrorCodes.PayloadTooLarge, message,
            new Dictionary<string, string[]> { ["body"] = [string.Create(CultureInfo.InvariantCulture, $"must be at most {limit} bytes")] });
    }

    /// <summary>
    /// The whole body, or null as soon as more than the route's limit has been read. Every body the service reads goes
    /// through here (the JSON check of <see cref="RequestInputCheck"/>, the webhooks), so the limit is counted in one
    /// place and the same way under any server; after the 413, Kestrel drops the rest of the body (up to its own limit,
    /// the largest route's) or closes the connection. Decision record 0070.
    /// </summary>
    public static async Task<byte[]?> ReadAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var limit = For(context);
        if (context.Request.ContentLength > limit)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>Whether <paramref name="exception"/> is Kestrel's refusal of a body read past the request's limit.</summary>
    public static bool IsTooLarge(Exception exception) => exception is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge };

    internal static string Describe(long bytes) => bytes switch
    {
        >= 1024 * 1024 when bytes % (1024 * 1024) == 0 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024 * 1024)} MiB ({bytes} bytes)"),
        >= 1024 when bytes % 1024 == 0 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024} KiB ({bytes} bytes)"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes"),
    };

    private static HttpEdgeOptions Options(HttpContext context) => context.RequestServices.GetRequiredService<IOptions<HttpEdgeOptions>>().Value;
}
