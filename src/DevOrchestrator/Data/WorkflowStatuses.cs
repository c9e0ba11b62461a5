namespace DevOrchestrator.Data;

public static class WorkflowStatuses
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
    public const string BudgetExceeded = "budget_exceeded";

    /// <summary>The stored status of a finished run.</summary>
    public static string Of(WorkflowRunStatus status) => status switch
    {
        WorkflowRunStatus.Completed => Completed,
        WorkflowRunStatus.Failed => Failed,
        WorkflowRunStatus.Cancelled => Cancelled,
        WorkflowRunStatus.BudgetExceeded => BudgetExceeded,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };
}
