namespace DevOrchestrator.Features.Tasks;

/// <summary>
/// The payload of every <c>task.status_update</c> event, whoever causes it. Fields that do not apply are null; the
/// names are the contract (snake_case on the wire).
/// </summary>
/// <param name="Cause">What caused the change: created, queued, claimed, handed_back, finished, cancelled.</param>
public sealed record TaskStatusUpdate(
    long TaskId,
    string Status,
    string? PreviousStatus,
    TaskTransitions.Cause Cause,
    string? Title = null,
    string? Source = null,
    string? Workflow = null,
    int? Attempt = null,
    string? WorkerId = null,
    string? Branch = null,
    string? Error = null,
    string? Reason = null);
