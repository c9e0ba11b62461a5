namespace DevOrchestrator.Features.Costs;

/// <summary>Who a model call is for: its task (if any), project, user, agent execution and the agent's role.</summary>
public sealed record ModelCallScope(long? TaskId, long? ProjectId, long? UserId, long? AgentExecutionId, string AgentRole);
