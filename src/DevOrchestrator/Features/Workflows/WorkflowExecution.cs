namespace DevOrchestrator.Features.Workflows;

/// <summary>One execution of a workflow for a task. Its steps are stored as they run, so a resumed run skips finished ones.</summary>
public sealed class WorkflowExecution
{
    public long Id { get; set; }
    public long TaskId { get; set; }
    public required string WorkflowName { get; set; }
    public string Status { get; set; } = WorkflowStatuses.Queued;
    public string? Variables { get; set; }
    public string? CurrentStep { get; set; }
    public string? Error { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }
    public List<WorkflowStepExecution> Steps { get; set; } = [];
}

public sealed class WorkflowStepExecution
{
    public long Id { get; set; }
    public long WorkflowExecutionId { get; set; }
    public int Index { get; set; }
    public required string Name { get; set; }
    public required string Type { get; set; }
    public string? Plugin { get; set; }
    public string? Action { get; set; }
    public string Status { get; set; } = StepStatuses.Running;
    public string? Inputs { get; set; }
    public string? Outputs { get; set; }
    public string? Error { get; set; }
    public int Attempts { get; set; }
    public DateTimeOffset StartedAt { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }
    public long? DurationMs { get; set; }
}

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

public static class StepStatuses
{
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Skipped = "skipped";
    public const string RolledBack = "rolled_back";
    public const string Cancelled = "cancelled";
}
