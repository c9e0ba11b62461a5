namespace DevOrchestrator.Features.Events;

public static class EventTypes
{
    public const string TaskStatusUpdate = "task.status_update";
    public const string AgentStatusUpdate = "agent.status_update";
    public const string WorkflowStepCompleted = "workflow.step_completed";
    public const string SystemAlert = "system.alert";

    /// <summary>At the start of a task's run: whether its commands have network (the project's <c>sandbox_network</c>).</summary>
    public const string TaskSandbox = "task.sandbox";
}
