namespace DevOrchestrator.Features.Workflows;

public static class WorkflowStepTypes
{
    public const string PluginAction = "plugin_action";
    public const string AiAction = "ai_action";
}
