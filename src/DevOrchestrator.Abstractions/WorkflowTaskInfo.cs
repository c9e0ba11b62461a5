namespace DevOrchestrator.Abstractions;

public sealed record WorkflowTaskInfo(long Id, string Title, string? Description, string? Branch, string Source, string? ExternalId)
{
    /// <summary>The user who created the task, if a user did.</summary>
    public long? CreatedByUserId { get; init; }
}
