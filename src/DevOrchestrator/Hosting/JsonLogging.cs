using System.Security.Claims;
using Serilog;
using Serilog.Context;
using Serilog.Events;

namespace DevOrchestrator.Hosting;

/// <summary>One JSON object per log line (<see cref="JsonLogFormatter"/>), with request_id, user_id, task_id and agent_id where known.</summary>
public static class JsonLogging
{
    public const string RequestIdHeader = "X-Request-Id";

    public static WebApplicationBuilder AddJsonLogging(this WebApplicationBuilder builder, ServerOptions settings)
    {
        var level = settings.Debug ? LogEventLevel.Debug : ParseLevel(settings.LogLevel);
        builder.Logging.ClearProviders();
        builder.Services.AddSerilog(
            (_, logger) => WriteTo(logger, settings.LogFile)
                .MinimumLevel.Is(level)
                .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
                // "No XML encryptor configured": the key ring is kept unencrypted in the owner-only DATA_DIR/keys on
                // purpose (docs/decisions/0010); the warning at every first start says nothing to act on.
                .MinimumLevel.Override("Microsoft.AspNetCore.DataProtection.KeyManagement.XmlKeyManager", LogEventLevel.Error)
                .MinimumLevel.Override("Microsoft.EntityFrameworkCore", level <= LogEventLevel.Debug ? LogEventLevel.Information : LogEventLevel.Warning)
                .MinimumLevel.Override("Hangfire", LogEventLevel.Warning)
                .Enrich.FromLogContext()
                .Enrich.WithProperty("service", "devorch"),
            preserveStaticLogger: true);
        return builder;
    }

    /// <summary>Standard output, or <c>LOG_FILE</c> when set (<c>devorch run</c> keeps the terminal for its progress).</summary>
    private static LoggerConfiguration WriteTo(LoggerConfiguration logger, string? file) => file is { Length: > 0 }
        ? logger.WriteTo.File(new JsonLogFormatter(), file)
        : logger.WriteTo.Console(new JsonLogFormatter(), standardErrorFromLevel: null);

    public static LogEventLevel ParseLevel(string level) => level.ToLowerInvariant() switch
    {
        "trace" => LogEventLevel.Verbose,
        "debug" => LogEventLevel.Debug,
        "warning" or "warn" => LogEventLevel.Warning,
        "error" => LogEventLevel.Error,
        "critical" or "fatal" => LogEventLevel.Fatal,
        _ => LogEventLevel.Information,
    };

    /// <summary>Gives every request an id (from <c>X-Request-Id</c> when the caller sent a sane one), echoed in the response and the logs.</summary>
    public static IApplicationBuilder UseRequestContext(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var incoming = context.Request.Headers[RequestIdHeader].ToString();
        var requestId = incoming.Length is > 0 and <= 128 && incoming.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
            ? incoming
            : Guid.NewGuid().ToString("N");
        context.TraceIdentifier = requestId;
        context.Response.Headers[RequestIdHeader] = requestId;
        using (LogContext.PushProperty("request_id", requestId))
        {
            await next(context);
        }
    });

    /// <summary>After authentication: adds the caller's user_id to every log line of the request.</summary>
    public static IApplicationBuilder UseUserLogScope(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var userId = context.User.FindFirstValue(ClaimTypes.NameIdentifier) ?? context.User.FindFirstValue("sub");
        if (userId is null)
        {
            await next(context);
            return;
        }

        using (LogContext.PushProperty("user_id", userId))
        {
            await next(context);
        }
    });
}
