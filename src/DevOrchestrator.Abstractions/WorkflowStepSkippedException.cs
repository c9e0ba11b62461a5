namespace DevOrchestrator.Abstractions;

/// <summary>
/// Thrown by an action that has nothing to do here — its plugin is not configured, the task has no ticket — so the
/// step is recorded as skipped with this message as a visible note, and the workflow goes on.
/// </summary>
public sealed class WorkflowStepSkippedException : Exception
{
    public WorkflowStepSkippedException() { }
    public WorkflowStepSkippedException(string message) : base(message) { }
    public WorkflowStepSkippedException(string message, Exception innerException) : base(message, innerException) { }
}
