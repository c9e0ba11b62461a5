using Microsoft.Extensions.Configuration;

namespace DevOrchestrator.Plugins.Confluence;

/// <summary>
/// The Confluence Cloud plugin's settings, bound from the root of the configuration by their environment variable
/// names. The plugin is configured when <see cref="Url"/>, <see cref="Email"/> and <see cref="ApiToken"/> are all set.
/// </summary>
public sealed class ConfluenceSettings
{
    public const string UrlKey = "CONFLUENCE_URL";
    public const string EmailKey = "CONFLUENCE_EMAIL";
    public const string ApiTokenKey = "CONFLUENCE_API_TOKEN";
    public const string RateLimitKey = "CONFLUENCE_RATE_LIMIT_REQUESTS_PER_SECOND";

    /// <summary>
    /// The site's wiki base, e.g. <c>https://your-domain.atlassian.net/wiki</c>; the REST v2 API is at
    /// <c>{CONFLUENCE_URL}/api/v2/</c>.
    /// </summary>
    [ConfigurationKeyName(UrlKey)]
    public string? Url { get; set; }

    /// <summary>The Atlassian account's e-mail address (the user name of Basic authentication).</summary>
    [ConfigurationKeyName(EmailKey)]
    public string? Email { get; set; }

    /// <summary>An Atlassian API token of that account (the password of Basic authentication).</summary>
    [ConfigurationKeyName(ApiTokenKey)]
    public string? ApiToken { get; set; }

    /// <summary>Overrides <c>RATE_LIMIT_REQUESTS_PER_SECOND</c> for Confluence calls when set.</summary>
    [ConfigurationKeyName(RateLimitKey)]
    public double? RateLimitRequestsPerSecond { get; set; }

    /// <summary>Whether the settings that make the plugin usable are all present.</summary>
    public bool IsConfigured =>
        !string.IsNullOrWhiteSpace(Url) && !string.IsNullOrWhiteSpace(Email) && !string.IsNullOrWhiteSpace(ApiToken);

    /// <summary>The REST v2 base (<c>{CONFLUENCE_URL}/api/v2/</c>), or null when <see cref="Url"/> is not a usable URL.</summary>
    public Uri? ApiBase =>
        Uri.TryCreate(Url?.Trim().TrimEnd('/') + "/api/v2/", UriKind.Absolute, out var uri) ? uri : null;

    /// <summary>The site's wiki base without a trailing slash (web links are relative to it).</summary>
    public string SiteUrl => Url?.Trim().TrimEnd('/') ?? "";
}
