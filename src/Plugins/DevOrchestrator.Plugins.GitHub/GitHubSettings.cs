using DevOrchestrator.Abstractions.Plugins;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Plugins.GitHub;

/// <summary>
/// The GitHub plugin's settings, bound from the root of the configuration by their environment variable names. Empty
/// means "not configured" (the plugin is listed, its steps are skipped); malformed values fail validation.
/// </summary>
public sealed class GitHubSettings
{
    public const string DefaultApiUrl = "https://api.github.com";
    public const string DefaultIntakeLabel = "devorch";
    public const string DefaultCommand = "/devorch";

    /// <summary>A personal access token (classic or fine-grained) or a GitHub App installation token.</summary>
    [ConfigurationKeyName("GITHUB_TOKEN")]
    public string? Token { get; set; }

    /// <summary>The REST API root: <c>https://api.github.com</c>, or <c>https://HOST/api/v3</c> for GitHub Enterprise Server.</summary>
    [ConfigurationKeyName("GITHUB_API_URL")]
    public string? ApiUrl { get; set; }

    /// <summary>The secret of the repository or organisation webhook (checks <c>X-Hub-Signature-256</c>).</summary>
    [ConfigurationKeyName("GITHUB_WEBHOOK_SECRET")]
    public string? WebhookSecret { get; set; }

    /// <summary>Overrides <c>RATE_LIMIT_REQUESTS_PER_SECOND</c> for GitHub calls.</summary>
    [ConfigurationKeyName("GITHUB_RATE_LIMIT_REQUESTS_PER_SECOND")]
    public double? RateLimitRequestsPerSecond { get; set; }

    /// <summary>The issue label that turns an issue into a task.</summary>
    [ConfigurationKeyName("GITHUB_INTAKE_LABEL")]
    public string? IntakeLabel { get; set; }

    /// <summary>The comment prefix that asks for work (<c>/devorch fix the tests</c>).</summary>
    [ConfigurationKeyName("GITHUB_COMMAND")]
    public string? Command { get; set; }

    public bool IsConfigured => !string.IsNullOrWhiteSpace(Token);

    /// <summary>The intake label in effect (the default when unset).</summary>
    public string EffectiveIntakeLabel => string.IsNullOrWhiteSpace(IntakeLabel) ? DefaultIntakeLabel : IntakeLabel.Trim();

    /// <summary>The command in effect (the default when unset).</summary>
    public string EffectiveCommand => string.IsNullOrWhiteSpace(Command) ? DefaultCommand : Command.Trim();

    /// <summary>
    /// The API root as Octokit wants it (ending in <c>/</c>). A bare Enterprise host (<c>https://ghe.example.com</c>)
    /// gets <c>/api/v3/</c> appended, as Octokit's own client does.
    /// </summary>
    public Uri ApiBaseUri
    {
        get
        {
            var text = string.IsNullOrWhiteSpace(ApiUrl) ? DefaultApiUrl : ApiUrl.Trim();
            var uri = new Uri(text.EndsWith('/') ? text : text + "/", UriKind.Absolute);
            return !IsPublicGitHub(uri) && uri.AbsolutePath == "/" ? new Uri(uri, "api/v3/") : uri;
        }
    }

    internal static bool IsPublicGitHub(Uri apiUri) => string.Equals(apiUri.Host, "api.github.com", StringComparison.OrdinalIgnoreCase);
}

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
