using Microsoft.Extensions.Configuration;

namespace DevOrchestrator.Plugins.Slack;

/// <summary>
/// The Slack plugin's settings, bound from the root of the configuration by their environment variable names. An
/// empty bot token means "not configured" (the plugin is listed, its steps are skipped).
/// </summary>
public sealed class SlackSettings
{
    public const string BotTokenKey = "SLACK_BOT_TOKEN";
    public const string SigningSecretKey = "SLACK_SIGNING_SECRET";
    public const string AppTokenKey = "SLACK_APP_TOKEN";
    public const string ApiUrlKey = "SLACK_API_URL";
    public const string RateLimitKey = "SLACK_RATE_LIMIT_REQUESTS_PER_SECOND";
    public const string CommandKey = "SLACK_COMMAND";

    public const string DefaultApiUrl = "https://slack.com/api/";
    public const string DefaultCommand = "/devorch";

    /// <summary>The bot user OAuth token (<c>xoxb-…</c>), sent as <c>Authorization: Bearer</c>.</summary>
    [ConfigurationKeyName(BotTokenKey)]
    public string? BotToken { get; set; }

    /// <summary>The app's signing secret, which verifies slash command requests (<c>X-Slack-Signature</c>).</summary>
    [ConfigurationKeyName(SigningSecretKey)]
    public string? SigningSecret { get; set; }

    /// <summary>An app-level token (<c>xapp-…</c>). Accepted for compatibility; Socket Mode is not supported, so it is unused.</summary>
    [ConfigurationKeyName(AppTokenKey)]
    public string? AppToken { get; set; }

    /// <summary>The Web API's base address (default <see cref="DefaultApiUrl"/>).</summary>
    [ConfigurationKeyName(ApiUrlKey)]
    public string? ApiUrl { get; set; }

    /// <summary>Overrides <c>RATE_LIMIT_REQUESTS_PER_SECOND</c> for Slack (read when the HTTP pipeline is built).</summary>
    [ConfigurationKeyName(RateLimitKey)]
    public double? RateLimitRequestsPerSecond { get; set; }

    /// <summary>The slash command this service answers (default <see cref="DefaultCommand"/>).</summary>
    [ConfigurationKeyName(CommandKey)]
    public string? Command { get; set; }

    /// <summary>Whether the required settings are present.</summary>
    public bool IsConfigured => !string.IsNullOrWhiteSpace(BotToken);

    /// <summary>The Web API's base address, ending in <c>/</c>.</summary>
    public Uri ApiBaseUri
    {
        get
        {
            var url = string.IsNullOrWhiteSpace(ApiUrl) ? DefaultApiUrl : ApiUrl.Trim();
            return new Uri(url.EndsWith('/') ? url : url + "/", UriKind.Absolute);
        }
    }

    /// <summary>The slash command, with its leading <c>/</c>.</summary>
    public string EffectiveCommand => string.IsNullOrWhiteSpace(Command) ? DefaultCommand : Command.Trim();
}
