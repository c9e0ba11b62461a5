using DevOrchestrator.Data;

namespace DevOrchestrator.Features.Workflows;

/// <summary>
/// How a run ended, and the task's <c>result</c> (<see cref="Result"/>, stored as JSON as it is). <see cref="Branch"/> is
/// the branch the work is on (also <c>result.branch</c>), when a step reported one.
/// </summary>
public sealed record WorkflowOutcome(WorkflowRunStatus Status, string? Error, IReadOnlyDictionary<string, object?> Result)
{
    public string? Branch { get; init; }
}
