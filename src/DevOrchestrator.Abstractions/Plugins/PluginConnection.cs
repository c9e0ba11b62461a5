namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>Who the plugin is connected as (a login, an account, a workspace) — never a credential.</summary>
public sealed record PluginConnection(string Identity, IReadOnlyDictionary<string, object>? Details = null);
