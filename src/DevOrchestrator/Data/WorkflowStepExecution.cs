namespace DevOrchestrator.Data;

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
