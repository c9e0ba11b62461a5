namespace DevOrchestrator.Features.Events;

public static class EventTypes
{
    public const string TaskStatusUpdate = "task.status_update";
    public const string AgentStatusUpdate = "agent.status_update";
    public const string WorkflowStepCompleted = "workflow.step_completed";
    public const string SystemAlert = "system.alert";
}
