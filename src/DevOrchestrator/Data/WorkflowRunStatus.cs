namespace DevOrchestrator.Data;

/// <summary>How a run ended. Stored on the execution row as the matching <see cref="WorkflowStatuses"/> string (<see cref="WorkflowStatuses.Of"/>).</summary>
public enum WorkflowRunStatus
{
    Completed,
    Failed,
    Cancelled,

    /// <summary>A step met the task's cost budget: the run stopped whatever the step's <c>on_error</c> said.</summary>
    BudgetExceeded,
}
