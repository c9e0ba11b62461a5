namespace DevOrchestrator.Data;

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
