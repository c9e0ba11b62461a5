using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Plugins;

/// <summary>
/// What every vendor plugin shares: the key that encrypts stored plugin settings, and the resilience of plugin calls
/// (retries, timeouts, rate limit, how long an open circuit stays open). Each vendor's own settings are its
/// <c>{X}Settings</c> in <c>src/Plugins</c>.
/// </summary>
public sealed class PluginOptions
{
    /// <summary>Encrypts plugin settings stored through the API; when unset (SQLite only), a key kept in <c>DATA_DIR/encryption.key</c>.</summary>
    [ConfigurationKeyName("ENCRYPTION_KEY")] public string? EncryptionKey { get; set; }

    /// <summary>
    /// The key before the last <c>devorch secrets rotate-key</c>: values that do not decrypt with <c>ENCRYPTION_KEY</c>
    /// are decrypted with it while replicas roll over to the new key (docs/security.md, "Rotating ENCRYPTION_KEY").
    /// </summary>
    [ConfigurationKeyName("ENCRYPTION_KEY_PREVIOUS")] public string? EncryptionKeyPrevious { get; set; }

    [ConfigurationKeyName("PLUGIN_RETRY_ATTEMPTS")]
    [Range(0, 20, ErrorMessage = "PLUGIN_RETRY_ATTEMPTS must be between 0 and 20.")]
    public int PluginRetryAttempts { get; set; } = 3;

    /// <summary>The first retry's delay of a plugin call, in seconds (then doubling, with jitter; Retry-After wins).</summary>
    [ConfigurationKeyName("PLUGIN_RETRY_DELAY_SECONDS")]
    [Range(0d, 600d, ErrorMessage = "PLUGIN_RETRY_DELAY_SECONDS must be between 0 and 600.")]
    public double PluginRetryDelaySeconds { get; set; } = 1;

    [ConfigurationKeyName("PLUGIN_TIMEOUT_SECONDS")]
    [Range(1, 3600, ErrorMessage = "PLUGIN_TIMEOUT_SECONDS must be between 1 and 3600.")]
    public int PluginTimeoutSeconds { get; set; } = 30;

    [ConfigurationKeyName("CIRCUIT_BREAKER_RESET_SECONDS")]
    [Range(1, 86_400, ErrorMessage = "CIRCUIT_BREAKER_RESET_SECONDS must be between 1 and 86400.")]
    public int CircuitBreakerResetSeconds { get; set; } = 60;

    [ConfigurationKeyName("RATE_LIMITING_ENABLED")] public bool RateLimitingEnabled { get; set; } = true;

    [ConfigurationKeyName("RATE_LIMIT_REQUESTS_PER_SECOND")]
    [Range(double.Epsilon, double.MaxValue, ErrorMessage = "RATE_LIMIT_REQUESTS_PER_SECOND must be greater than 0.")]
    public double RateLimitRequestsPerSecond { get; set; } = 2.0;
}

[OptionsValidator]
internal sealed partial class PluginOptionsValidator : IValidateOptions<PluginOptions>;
