using DevOrchestrator.Abstractions.Plugins;

namespace DevOrchestrator.Features.Plugins;

/// <summary>Every registered plugin, found by type and name or by what it can do for a task.</summary>
public sealed class PluginRegistry(IEnumerable<IPlugin> plugins, PluginResilienceState resilience)
{
    public IReadOnlyList<IPlugin> All { get; } = plugins.OrderBy(p => p.Type, StringComparer.Ordinal).ThenBy(p => p.Name, StringComparer.Ordinal).ToArray();

    public IPlugin? Find(string type, string name) => All.FirstOrDefault(p => p.Type == type && p.Name == name);

    /// <summary>The first configured plugin of a contract (<see cref="ITaskManagementPlugin"/>, …), or null.</summary>
    public T? Configured<T>() where T : class, IPlugin => All.OfType<T>().FirstOrDefault(p => p.IsConfigured);

    /// <summary>The configured code host that serves <paramref name="repositoryUrl"/>, or null.</summary>
    public IVersionControlPlugin? ForRepository(string? repositoryUrl) =>
        repositoryUrl is null ? null : All.OfType<IVersionControlPlugin>().FirstOrDefault(p => p.IsConfigured && p.Handles(repositoryUrl));

    /// <summary>The plugin's circuit state in this process (closed when it has made no call yet).</summary>
    public PluginCircuitState CircuitState(IPlugin plugin) =>
        resilience.Breakers.FirstOrDefault(b => b.Plugin == plugin.Name)?.State ?? PluginCircuitState.Closed;

    public DateTimeOffset? OpenUntil(IPlugin plugin) => resilience.Breakers.FirstOrDefault(b => b.Plugin == plugin.Name)?.OpenUntil;

    public static string StateName(PluginCircuitState state) => state switch
    {
        PluginCircuitState.Open => "open",
        PluginCircuitState.HalfOpen => "half_open",
        _ => "closed",
    };
}
