using DevOrchestrator.Abstractions.Plugins;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Plugins.GitHub;

/// <summary>Checks <see cref="GitHubSettings"/>; each failure starts with the variable's name.</summary>
public sealed class GitHubSettingsValidator : IValidateOptions<GitHubSettings>
{
    public ValidateOptionsResult Validate(string? name, GitHubSettings options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (!string.IsNullOrEmpty(options.Token) && (options.Token.Trim().Length == 0 || options.Token.Any(char.IsWhiteSpace) || options.Token.Any(char.IsControl)))
        {
            // It goes into an HTTP header and a git config value: a line break would inject headers.
            failures.Add("GITHUB_TOKEN must not contain whitespace or control characters.");
        }

        PluginSettingsBinding.CheckUrl(failures, "GITHUB_API_URL", options.ApiUrl);
        if (!string.IsNullOrWhiteSpace(options.ApiUrl) && Uri.TryCreate(options.ApiUrl.Trim(), UriKind.Absolute, out var api))
        {
            if (api.UserInfo.Length > 0)
            {
                failures.Add("GITHUB_API_URL must not contain credentials (set GITHUB_TOKEN instead).");
            }

            if (api.Query.Length > 0 || api.Fragment.Length > 0)
            {
                failures.Add($"GITHUB_API_URL must not have a query or fragment (got '{options.ApiUrl}').");
            }
        }

        if (options.RateLimitRequestsPerSecond is { } rate && (double.IsNaN(rate) || double.IsInfinity(rate) || rate <= 0))
        {
            failures.Add($"GITHUB_RATE_LIMIT_REQUESTS_PER_SECOND must be a positive number (got {rate}).");
        }

        if (!string.IsNullOrWhiteSpace(options.IntakeLabel) && options.IntakeLabel.Trim().Length > 50)
        {
            failures.Add("GITHUB_INTAKE_LABEL must be at most 50 characters (GitHub's limit for label names).");
        }

        if (!string.IsNullOrWhiteSpace(options.Command) && options.Command.Trim().Any(char.IsWhiteSpace))
        {
            failures.Add($"GITHUB_COMMAND must be one word such as /devorch (got '{options.Command}').");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
