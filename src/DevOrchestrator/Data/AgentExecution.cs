namespace DevOrchestrator.Data;

/// <summary>One run of an agent on a task: created when a worker starts the task's workflow.</summary>
public sealed class AgentExecution
{
    public long Id { get; set; }
    public long TaskId { get; set; }
    public long? WorkflowExecutionId { get; set; }
    public required string AgentType { get; set; }
    public string Status { get; set; } = AgentStatuses.Running;
    public string? WorkerId { get; set; }
    public string? CurrentStep { get; set; }
    public string? Error { get; set; }

    /// <summary>What this run's model calls cost, in micro-dollars.</summary>
    public long CostMicros { get; set; }
    public DateTimeOffset StartedAt { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }
}
