namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>The plugin types of the seed system; a plugin is addressed as <c>{type}/{name}</c> (<c>version_control/github</c>).</summary>
public static class PluginTypes
{
    public const string AiProvider = "ai_provider";
    public const string VersionControl = "version_control";
    public const string TaskManagement = "task_management";
    public const string Communication = "communication";
    public const string Documentation = "documentation";
}
