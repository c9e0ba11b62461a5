namespace DevOrchestrator.Data;

/// <summary>One model call's metered usage.</summary>
public sealed class CostEntry
{
    public long Id { get; set; }
    public long? TaskId { get; set; }
    public long? ProjectId { get; set; }
    public long? UserId { get; set; }
    public long? AgentExecutionId { get; set; }
    public string? AgentRole { get; set; }
    public required string Provider { get; set; }
    public required string Model { get; set; }
    public long InputTokens { get; set; }
    public long OutputTokens { get; set; }
    public long CacheWriteTokens { get; set; }
    public long CacheReadTokens { get; set; }
    public decimal Usd { get; set; }
    public long LatencyMs { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}
