using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;

namespace DevOrchestrator.Hosting;

/// <summary>The success envelope of every API response.</summary>
public sealed record ApiResponse<T>(bool Success, T Data, string? Message, DateTimeOffset Timestamp, string RequestId, Pagination? Pagination = null);

public sealed record Pagination(int Page, int PerPage, long Total, int Pages);

/// <summary>The error envelope: <c>{"success": false, "error": {code, message, details}, timestamp, request_id}</c>.</summary>
public sealed record ApiErrorResponse(bool Success, ApiError Error, DateTimeOffset Timestamp, string RequestId);

public sealed record ApiError(string Code, string Message, IReadOnlyDictionary<string, string[]>? Details = null);

public static class ErrorCodes
{
    public const string ValidationError = "VALIDATION_ERROR";
    public const string Unauthorized = "UNAUTHORIZED";
    public const string Forbidden = "FORBIDDEN";
    public const string NotFound = "NOT_FOUND";
    public const string Conflict = "CONFLICT";
    public const string Unprocessable = "UNPROCESSABLE";
    public const string RateLimited = "RATE_LIMITED";
    public const string BudgetExceeded = "BUDGET_EXCEEDED";
    public const string Unavailable = "SERVICE_UNAVAILABLE";
    public const string Internal = "INTERNAL_ERROR";
    public const string BadRequest = "BAD_REQUEST";
}

/// <summary>Builders for enveloped results; endpoints return these.</summary>
public static class Api
{
    public static JsonHttpResult<ApiResponse<T>> Ok<T>(HttpContext context, T data, string? message = null, Pagination? pagination = null, int statusCode = StatusCodes.Status200OK) =>
        TypedResults.Json(
            new ApiResponse<T>(true, data, message, context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow(), context.TraceIdentifier, pagination),
            JsonDefaults.Options,
            statusCode: statusCode);

    public static JsonHttpResult<ApiErrorResponse> Error(HttpContext context, int statusCode, string code, string message, IReadOnlyDictionary<string, string[]>? details = null) =>
        TypedResults.Json(
            new ApiErrorResponse(false, new ApiError(code, message, details), context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow(), context.TraceIdentifier),
            JsonDefaults.Options,
            statusCode: statusCode);

    public static JsonHttpResult<ApiErrorResponse> NotFound(HttpContext context, string what, object id) =>
        Error(context, StatusCodes.Status404NotFound, ErrorCodes.NotFound, $"{what} {id} was not found.");

    public static JsonHttpResult<ApiErrorResponse> Conflict(HttpContext context, string message) =>
        Error(context, StatusCodes.Status409Conflict, ErrorCodes.Conflict, message);

    public static JsonHttpResult<ApiErrorResponse> Invalid(HttpContext context, Validation validation) =>
        Error(context, StatusCodes.Status400BadRequest, ErrorCodes.ValidationError, "The request has invalid fields.", validation.Errors);
}

/// <summary>Collects every offending field of a request, so one response names them all.</summary>
public sealed class Validation
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool IsValid => _errors.Count == 0;

    public IReadOnlyDictionary<string, string[]> Errors => _errors.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());

    public Validation Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list))
        {
            _errors[field] = list = [];
        }

        list.Add(message);
        return this;
    }

    public Validation Required(string field, string? value, int maxLength = 10_000)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            Add(field, "is required");
        }
        else
        {
            MaxLength(field, value, maxLength);
        }

        return this;
    }

    public Validation MaxLength(string field, string? value, int maxLength)
    {
        if (value is not null && value.Length > maxLength)
        {
            Add(field, $"must be at most {maxLength} characters");
        }

        return this;
    }

    public Validation OneOf(string field, string? value, IReadOnlyList<string> allowed)
    {
        if (value is not null && !allowed.Contains(value))
        {
            Add(field, $"must be one of: {string.Join(", ", allowed)}");
        }

        return this;
    }
}

/// <summary>Maps every failure to the error envelope with the right status; nothing else (no stack trace) reaches the client.</summary>
public sealed partial class ApiExceptionHandler(ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, code, message, details) = exception switch
        {
            BadHttpRequestException { InnerException: JsonException json } => (400, ErrorCodes.ValidationError, "The request body is not valid JSON for this endpoint.",
                new Dictionary<string, string[]> { [JsonFieldName(json.Path)] = [JsonProblem(json)] }),
            BadHttpRequestException bad when bad.Message.Contains("request body", StringComparison.OrdinalIgnoreCase) =>
                (400, ErrorCodes.ValidationError, "The request needs a JSON body.", new Dictionary<string, string[]> { ["body"] = ["is required"] }),
            BadHttpRequestException bad => (bad.StatusCode, bad.StatusCode == 400 ? ErrorCodes.ValidationError : ErrorCodes.BadRequest, DescribeBadRequest(bad), BadRequestDetails(bad)),
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
