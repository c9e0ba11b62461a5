namespace DevOrchestrator.Hosting;

/// <summary>The error envelope: <c>{"success": false, "error": {code, message, details}, timestamp, request_id}</c>.</summary>
public sealed record ApiErrorResponse(bool Success, ApiError Error, DateTimeOffset Timestamp, string RequestId);
