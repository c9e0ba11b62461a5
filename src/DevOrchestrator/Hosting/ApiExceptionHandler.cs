using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;

namespace DevOrchestrator.Hosting;

/// <summary>Maps every failure to the error envelope with the right status; nothing else (no stack trace) reaches the client.</summary>
public sealed partial class ApiExceptionHandler(ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (RequestBodyLimits.IsTooLarge(exception))
        {
            // A body without Content-Length read past the route's limit (Kestrel counts it as it is read).
            if (!httpContext.Response.HasStarted)
            {
                await RequestBodyLimits.TooLarge(httpContext).ExecuteAsync(httpContext);
            }

            return true;
        }

        var (status, code, message, details) = exception switch
        {
            BadHttpRequestException { InnerException: JsonException json } => (400, ErrorCodes.ValidationError, "The request body is not valid JSON for this endpoint.",
                new Dictionary<string, string[]> { [JsonFieldName(json.Path)] = [JsonProblem(json)] }),
            BadHttpRequestException bad when bad.Message.Contains("request body", StringComparison.OrdinalIgnoreCase) =>
                (400, ErrorCodes.ValidationError, "The request needs a JSON body.", new Dictionary<string, string[]> { ["body"] = ["is required"] }),
            BadHttpRequestException bad => (bad.StatusCode, bad.StatusCode == 400 ? ErrorCodes.ValidationError : ErrorCodes.BadRequest, DescribeBadRequest(bad), BadRequestDetails(bad)),
            Features.Tasks.ActiveAgentTaskLimitException limit => (429, ErrorCodes.RateLimited, limit.Message, null),
            OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested => (499, ErrorCodes.BadRequest, "The client closed the request.", null),
            _ when Data.TransientDatabaseErrors.IsTransient(exception) => (503, ErrorCodes.Unavailable,
                "The database is briefly unavailable; retry in a few seconds (with the same Idempotency-Key, a retried create cannot make a duplicate).", null),
            _ => (500, ErrorCodes.Internal, "An internal error occurred. The request id identifies it in the logs.", null),
        };

        if (status == 500)
        {
            LogUnhandled(logger, exception, httpContext.Request.Method, httpContext.Request.Path);
        }
        else if (status == 503)
        {
            LogTransient(logger, exception, httpContext.Request.Method, httpContext.Request.Path);
            httpContext.Response.Headers.RetryAfter = "2";
        }
        else if (status == 429)
        {
            // Active tasks end when they end: a hint for polling, not a promise.
            httpContext.Response.Headers.RetryAfter = "60";
        }

        if (httpContext.Response.HasStarted)
        {
            return true;
        }

        httpContext.Response.StatusCode = status;
        await Api.Error(httpContext, status, code, message, details).ExecuteAsync(httpContext);
        return true;
    }

    /// <summary>Bodies for bare status codes (unknown route 404, 405, a 401/403 the auth handler wrote without a body).</summary>
    public static async Task WriteStatusCodeEnvelopeAsync(StatusCodeContext context)
    {
        var http = context.HttpContext;
        var (code, message) = http.Response.StatusCode switch
        {
            401 => (ErrorCodes.Unauthorized, "A valid bearer token is required."),
            403 => (ErrorCodes.Forbidden, "Your role does not allow this operation."),
            404 => (ErrorCodes.NotFound, $"No route matches {http.Request.Method} {http.Request.Path}."),
            405 => (ErrorCodes.BadRequest, $"Method {http.Request.Method} is not allowed on {http.Request.Path}."),
            415 => (ErrorCodes.BadRequest, "The request body must be application/json."),
            429 => (ErrorCodes.RateLimited, "Too many requests."),
            503 => (ErrorCodes.Unavailable, "The service is unavailable."),
            _ => (ErrorCodes.BadRequest, "The request failed."),
        };
        await Api.Error(http, http.Response.StatusCode, code, message).ExecuteAsync(http);
    }

    private static string DescribeBadRequest(BadHttpRequestException bad) =>
        bad.Message.StartsWith("Failed to bind parameter", StringComparison.Ordinal) || bad.Message.StartsWith("Required parameter", StringComparison.Ordinal)
            ? "The request has invalid parameters."
            : bad.Message;

    private static Dictionary<string, string[]>? BadRequestDetails(BadHttpRequestException bad)
    {
        // "Failed to bind parameter "int page" from "abc"." / "Required parameter "..." was not provided from ..."
        var message = bad.Message;
        var first = message.IndexOf('"', StringComparison.Ordinal);
        var last = first >= 0 ? message.IndexOf('"', first + 1) : -1;
        if (first < 0 || last <= first)
        {
            return null;
        }

        var parameter = message[(first + 1)..last].Split(' ').Last();
        var field = JsonNamingPolicy.SnakeCaseLower.ConvertName(parameter);
        return new Dictionary<string, string[]>
        {
            [field] = [message.StartsWith("Required", StringComparison.Ordinal) ? "is required" : "has an invalid value"],
        };
    }

    private static string JsonFieldName(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            return "body";
        }

        return path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
    }

    private static string JsonProblem(JsonException json) =>
        json.Message.Contains("could not be converted", StringComparison.Ordinal) ? "has the wrong type" : "is not valid JSON";

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled error on {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Transient database error on {Method} {Path}; answered 503")]
    private static partial void LogTransient(ILogger logger, Exception exception, string method, string path);
}
