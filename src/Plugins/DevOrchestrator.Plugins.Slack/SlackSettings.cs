using System.Globalization;
using DevOrchestrator.Abstractions.Plugins;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

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

/// <summary>
/// Checks <see cref="SlackSettings"/>: unset values are fine (the plugin is simply not configured); malformed ones fail,
/// with a message that starts with the variable's name and never repeats a secret's value.
/// </summary>
public sealed class SlackSettingsValidator : IValidateOptions<SlackSettings>
{
    public ValidateOptionsResult Validate(string? name, SlackSettings options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        CheckToken(failures, SlackSettings.BotTokenKey, options.BotToken, "xoxb-", "a Slack bot token");
        CheckToken(failures, SlackSettings.AppTokenKey, options.AppToken, "xapp-", "a Slack app-level token");
        if (options.SigningSecret is { Length: > 0 } secret && (secret.Trim().Length == 0 || secret.Any(char.IsWhiteSpace)))
        {
            failures.Add($"{SlackSettings.SigningSecretKey} must be the app's signing secret (no spaces).");
        }

        PluginSettingsBinding.CheckUrl(failures, SlackSettings.ApiUrlKey, options.ApiUrl);
        if (options.RateLimitRequestsPerSecond is { } rate && (!double.IsFinite(rate) || rate <= 0))
        {
            failures.Add($"{SlackSettings.RateLimitKey} must be a number greater than 0 (got {rate.ToString(CultureInfo.InvariantCulture)}).");
        }

        if (!string.IsNullOrWhiteSpace(options.Command))
        {
            var command = options.Command.Trim();
            if (command.Length < 2 || command[0] != '/' || command.Any(char.IsWhiteSpace))
            {
                failures.Add($"{SlackSettings.CommandKey} must be a slash command such as /devorch (got '{command}').");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void CheckToken(List<string> failures, string key, string? value, string prefix, string what)
    {
        if (string.IsNullOrEmpty(value))
        {
            return;
        }

        // Never echo the value: it is a credential.
        if (!value.StartsWith(prefix, StringComparison.Ordinal) || value.Length <= prefix.Length || value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            failures.Add($"{key} must be {what} (it starts with '{prefix}' and has no spaces).");
        }
    }
}
