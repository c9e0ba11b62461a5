using Microsoft.Extensions.AI;

namespace DevOrchestrator.Features.Agents;

/// <summary>A restored conversation.</summary>
public sealed record AgentSnapshot(int Turn, List<ChatMessage> Messages, AgentLoopState State, string? BaseCommit);
