namespace DevOrchestrator.Features.Workflows;

/// <summary>Where the workflow YAML files are read from (besides the built-in ones).</summary>
public sealed class WorkflowOptions
{
    [ConfigurationKeyName("WORKFLOWS_DIR")] public string WorkflowsDir { get; set; } = "./workflows";
}
