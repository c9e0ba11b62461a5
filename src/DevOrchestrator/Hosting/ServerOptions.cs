using Microsoft.Extensions.Options;

namespace DevOrchestrator.Hosting;

/// <summary>The process itself: its environment, logging and data directory.</summary>
public sealed class ServerOptions
{
    public const string DefaultDataDir = "./data";

    [ConfigurationKeyName("ENVIRONMENT")] public string Environment { get; set; } = "development";
    [ConfigurationKeyName("DEBUG")] public bool Debug { get; set; }
    [ConfigurationKeyName("LOG_LEVEL")] public string LogLevel { get; set; } = "info";

    /// <summary>Write the JSON log to this file instead of standard output.</summary>
    [ConfigurationKeyName("LOG_FILE")] public string? LogFile { get; set; }

    /// <summary>The service's own files: the SQLite database, <c>jwt_secret</c>, <c>encryption.key</c>, the data-protection keys.</summary>
    [ConfigurationKeyName("DATA_DIR")] public string DataDir { get; set; } = DefaultDataDir;

    public bool IsProduction => string.Equals(Environment, "production", StringComparison.OrdinalIgnoreCase);

    public string FullDataDir => Path.GetFullPath(DataDir);
}

internal sealed class ServerOptionsValidator : IValidateOptions<ServerOptions>
{
    private static readonly string[] s_logLevels = ["trace", "debug", "info", "information", "warning", "warn", "error", "critical", "fatal"];
    private static readonly string[] s_environments = ["development", "staging", "production", "test"];

    public ValidateOptionsResult Validate(string? name, ServerOptions options)
    {
        var errors = new List<string>();
        if (!s_environments.Contains(options.Environment, StringComparer.OrdinalIgnoreCase))
        {
            errors.Add($"ENVIRONMENT must be one of {string.Join(", ", s_environments)} (got '{options.Environment}').");
        }

        if (!s_logLevels.Contains(options.LogLevel, StringComparer.OrdinalIgnoreCase))
        {
            errors.Add($"LOG_LEVEL must be one of trace, debug, info, warning, error, critical (got '{options.LogLevel}').");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
