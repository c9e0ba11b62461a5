using DevOrchestrator.Data;

namespace DevOrchestrator.Features.Tasks;

/// <summary>What an entry point asks for when it creates a task; everything else is the lifecycle's business.</summary>
public sealed record NewTask(string Title)
{
    public string? Description { get; init; }
    public long? ProjectId { get; init; }
    public string Priority { get; init; } = TaskPriorities.Medium;
    public string Source { get; init; } = TaskSources.Api;
    public string? ExternalId { get; init; }
    public string Workflow { get; init; } = "standard_dev_workflow";
    public string AgentType { get; init; } = "development";

    /// <summary>The task's variables as JSON, or null.</summary>
    public string? Variables { get; init; }
    public long? CreatedByUserId { get; init; }
    public string? IdempotencyKey { get; init; }
    public string? IdempotencyFingerprint { get; init; }
    public string Kind { get; init; } = TaskKinds.Task;
    public long? ParentId { get; init; }

    /// <summary>Encrypted answer address (a Slack response_url), or null.</summary>
    public string? ReplyTo { get; init; }
}
