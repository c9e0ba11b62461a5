namespace DevOrchestrator.Hosting;

/// <summary>The success envelope of every API response.</summary>
public sealed record ApiResponse<T>(bool Success, T Data, string? Message, DateTimeOffset Timestamp, string RequestId, Pagination? Pagination = null);
