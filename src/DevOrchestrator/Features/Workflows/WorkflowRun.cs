namespace DevOrchestrator.Features.Workflows;

/// <summary>What a worker asks the engine to run.</summary>
public sealed record WorkflowRun(long TaskId, long WorkflowExecutionId, long AgentExecutionId, string WorkerId);
