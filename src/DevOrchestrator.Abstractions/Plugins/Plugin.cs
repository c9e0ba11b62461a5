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

/// <summary>A setting a plugin reads. <see cref="Secret"/> values are write-only in the API and never logged.</summary>
public sealed record PluginSetting(string Key, string Description, bool Required = false, bool Secret = false, string? Default = null);

/// <summary>Who the plugin is connected as (a login, an account, a workspace) — never a credential.</summary>
public sealed record PluginConnection(string Identity, IReadOnlyDictionary<string, object>? Details = null);

public sealed record PluginHealth(bool Healthy, string Message, IReadOnlyDictionary<string, object>? Details = null)
{
    public static PluginHealth Ok(string message) => new(true, message);

    public static PluginHealth Failed(string message) => new(false, message);
}

/// <summary>
/// A vendor call that failed in a way the user should read (bad credentials, missing object, the vendor's validation
/// error). The message never contains a credential.
/// </summary>
public class PluginException : WorkflowActionException
{
    public PluginException(string plugin, string message, int? statusCode = null, Exception? innerException = null)
        : base($"{plugin}: {message}", innerException ?? new InvalidOperationException(message))
    {
        Plugin = plugin;
        StatusCode = statusCode;
    }

    public PluginException() { }

    public PluginException(string message) : base(message) { }

    public PluginException(string message, Exception innerException) : base(message, innerException) { }

    public string Plugin { get; } = "";

    /// <summary>The vendor's HTTP status, when there was one.</summary>
    public int? StatusCode { get; }

    /// <summary>The object does not exist at the vendor (404).</summary>
    public bool IsNotFound => StatusCode == 404;
}
