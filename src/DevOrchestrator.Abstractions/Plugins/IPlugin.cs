namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>
/// What every plugin offers the registry: its identity, the settings it reads (environment variable names), whether
/// they are complete, and connect / disconnect / health. A plugin reads its settings through <c>IOptionsMonitor</c>, so
/// a configuration stored through the API (which the host layers over the environment) takes effect without a restart.
/// </summary>
public interface IPlugin
{
    /// <summary>One of <see cref="PluginTypes"/>.</summary>
    string Type { get; }

    /// <summary>The vendor's name in lower case (<c>github</c>, <c>jira</c>, <c>slack</c>, <c>confluence</c>).</summary>
    string Name { get; }

    /// <summary>A one-line description for <c>GET /api/v1/plugins</c>.</summary>
    string Description { get; }

    /// <summary>The settings this plugin reads, by environment variable name.</summary>
    IReadOnlyList<PluginSetting> Settings { get; }

    /// <summary>Whether the required settings are present (an unconfigured plugin is listed, and its workflow steps are skipped).</summary>
    bool IsConfigured { get; }

    /// <summary>
    /// Problems with a proposed set of values (the plugin's settings as they would be after a change), by setting
    /// name; empty when valid.
    /// </summary>
    IReadOnlyDictionary<string, string> Validate(IReadOnlyDictionary<string, string?> values);

    /// <summary>Checks the credentials against the vendor (e.g. "who am I"); throws <see cref="PluginException"/> when they do not work.</summary>
    Task<PluginConnection> ConnectAsync(CancellationToken cancellationToken);

    /// <summary>Forgets cached clients and identities (called when the configuration changes or the host stops).</summary>
    Task DisconnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>A cheap probe of the vendor for <c>/health</c> and <c>devorch plugins check</c>.</summary>
    Task<PluginHealth> CheckHealthAsync(CancellationToken cancellationToken);
}
