using Microsoft.AspNetCore.Http.HttpResults;

namespace DevOrchestrator.Hosting;

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
