namespace DevOrchestrator.Abstractions.Plugins;

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
