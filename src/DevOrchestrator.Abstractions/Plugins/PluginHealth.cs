namespace DevOrchestrator.Abstractions.Plugins;

public sealed record PluginHealth(bool Healthy, string Message, IReadOnlyDictionary<string, object>? Details = null)
{
    public static PluginHealth Ok(string message) => new(true, message);

    public static PluginHealth Failed(string message) => new(false, message);
}
