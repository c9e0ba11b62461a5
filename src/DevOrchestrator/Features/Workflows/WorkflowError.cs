namespace DevOrchestrator.Features.Workflows;

/// <summary>A problem in a workflow file, at its line and column (1-based).</summary>
public sealed record WorkflowError(int Line, int Column, string Message)
{
    public override string ToString() => $"{Line}:{Column}: {Message}";
}
