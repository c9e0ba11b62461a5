using Microsoft.Extensions.Configuration;

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
