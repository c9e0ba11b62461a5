using System.Globalization;
using DevOrchestrator.Abstractions.Plugins;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Plugins.Slack;

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
