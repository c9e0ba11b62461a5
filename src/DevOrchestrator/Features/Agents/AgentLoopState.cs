namespace DevOrchestrator.Features.Agents;

/// <summary>What an agent loop keeps besides its messages: enough to continue exactly where it stopped.</summary>
public sealed class AgentLoopState
{
    public bool Finished { get; set; }
    public string? Summary { get; set; }
    public string? StopReason { get; set; }
    public long InputTokens { get; set; }
    public long OutputTokens { get; set; }
    public long CacheWriteTokens { get; set; }
    public long CacheReadTokens { get; set; }
    public decimal CostUsd { get; set; }
    public int ModelCalls { get; set; }

    /// <summary>Follow-up messages already added (verification failures, review feedback), by id, so a resume adds none twice.</summary>
    public List<string> FollowUps { get; set; } = [];
}
