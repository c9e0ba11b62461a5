namespace DevOrchestrator.Abstractions;

/// <summary>A failure of an action that is the user's to fix (bad input, failed command); its message is shown as is.</summary>
public class WorkflowActionException : Exception
{
    public WorkflowActionException(string message) : base(message) { }
    public WorkflowActionException(string message, Exception innerException) : base(message, innerException) { }
    public WorkflowActionException() { }

    /// <summary>Outputs to keep even though the action failed (e.g. a command's exit code and output).</summary>
    public IReadOnlyDictionary<string, object?>? Outputs { get; init; }
}
