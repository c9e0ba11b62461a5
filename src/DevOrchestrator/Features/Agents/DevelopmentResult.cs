namespace DevOrchestrator.Features.Agents;

/// <summary>How a run of the development agent ended; <see cref="StopReason"/> says it in words (<c>finished</c>, <c>max_turns: …</c>, <c>no_progress: …</c>).</summary>
public sealed record DevelopmentResult(DevelopmentStop Stop, string? Summary, string StopReason, int Turns, AgentLoopState State)
{
    public bool Finished => Stop == DevelopmentStop.Finished;
}
