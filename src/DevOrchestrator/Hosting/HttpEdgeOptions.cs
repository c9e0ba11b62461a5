using System.Globalization;
using System.Net;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Hosting;

/// <summary>
/// The HTTP edge: request body limits per route, the proxies whose forwarded headers are believed, HTTPS redirection and
/// HSTS, and the CORS allow-list. docs/security.md, "Edges"; docs/decisions/0070.
/// </summary>
public sealed class HttpEdgeOptions
{
    public const long DefaultApiMaxBodyBytes = 1024 * 1024;

    /// <summary>GitHub's documented cap on a webhook payload (25 MB); the other vendors document none above it.</summary>
    public const long DefaultWebhookMaxBodyBytes = 25 * 1024 * 1024;

    /// <summary>The largest request body of every route but <c>/webhooks/…</c>.</summary>
    [ConfigurationKeyName("API_MAX_BODY_BYTES")] public long ApiMaxBodyBytes { get; set; } = DefaultApiMaxBodyBytes;

    /// <summary>The largest request body of <c>/webhooks/…</c>.</summary>
    [ConfigurationKeyName("WEBHOOK_MAX_BODY_BYTES")] public long WebhookMaxBodyBytes { get; set; } = DefaultWebhookMaxBodyBytes;

    /// <summary>Comma-separated IP addresses and CIDR networks whose <c>X-Forwarded-For</c>, <c>-Proto</c> and <c>-Host</c> are believed; unset: none (the headers are ignored).</summary>
    [ConfigurationKeyName("TRUSTED_PROXIES")] public string? TrustedProxies { get; set; }

    /// <summary>Redirect plain HTTP requests (all but <c>/health…</c> and <c>/metrics</c>) to HTTPS.</summary>
    [ConfigurationKeyName("HTTPS_REDIRECT")] public bool HttpsRedirect { get; set; }

    /// <summary>The port of the redirect's HTTPS address; unset: the HTTPS port of the listen URLs, else 443.</summary>
    [ConfigurationKeyName("HTTPS_PORT")] public int? HttpsPort { get; set; }

    /// <summary>The <c>Strict-Transport-Security</c> max-age on HTTPS responses; 0: not sent.</summary>
    [ConfigurationKeyName("HSTS_MAX_AGE_SECONDS")] public long HstsMaxAgeSeconds { get; set; }

    /// <summary>Comma-separated exact origins (<c>https://app.example.com</c>) allowed to call the API from a browser; unset: no CORS headers at all.</summary>
    [ConfigurationKeyName("CORS_ALLOWED_ORIGINS")] public string? CorsAllowedOrigins { get; set; }

    /// <summary>The larger of the two body limits: Kestrel's own limit, which no route may exceed.</summary>
    public long LargestBodyLimit => Math.Max(ApiMaxBodyBytes, WebhookMaxBodyBytes);

    /// <summary>The trusted networks of <see cref="TrustedProxies"/> (a single address is a /32 or /128 network).</summary>
    public IReadOnlyList<IPNetwork> TrustedNetworks() => ParseNetworks(TrustedProxies, errors: null);

    /// <summary>The origins of <see cref="CorsAllowedOrigins"/>, normalised as browsers send them (<c>scheme://host[:port]</c>, lower case).</summary>
    public IReadOnlyList<string> CorsOrigins() => ParseOrigins(CorsAllowedOrigins, errors: null);

    internal static List<IPNetwork> ParseNetworks(string? value, List<string>? errors)
    {
        var networks = new List<IPNetwork>();
        foreach (var entry in Entries(value))
        {
            if (IPAddress.TryParse(entry, out var address) && !entry.Contains('/', StringComparison.Ordinal))
            {
                networks.Add(new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
            }
            else if (IPNetwork.TryParse(entry, out var network))
            {
                networks.Add(network);
            }
            else
            {
                errors?.Add($"TRUSTED_PROXIES: '{entry}' is neither an IP address nor a CIDR network such as 10.0.0.0/8.");
            }
        }

        return networks;
    }

    internal static List<string> ParseOrigins(string? value, List<string>? errors)
    {
        var origins = new List<string>();
        foreach (var entry in Entries(value))
        {
            var authority = entry.Contains("://", StringComparison.Ordinal) ? entry[(entry.IndexOf("://", StringComparison.Ordinal) + 3)..].TrimEnd('/') : entry;
            if (Uri.TryCreate(entry, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0
                && authority.IndexOfAny(['/', '?', '#', '@', '*']) < 0)
            {
                origins.Add(uri.GetLeftPart(UriPartial.Authority).ToLowerInvariant());
            }
            else
            {
                errors?.Add($"CORS_ALLOWED_ORIGINS: '{entry}' is not an origin: write scheme://host[:port], e.g. https://app.example.com (no path, no wildcard).");
            }
        }

        return origins;
    }

    private static string[] Entries(string? value) =>
        (value ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

internal sealed class HttpEdgeOptionsValidator : IValidateOptions<HttpEdgeOptions>
{
    public ValidateOptionsResult Validate(string? name, HttpEdgeOptions options)
    {
        var errors = new List<string>();
        if (options.ApiMaxBodyBytes < 1)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"API_MAX_BODY_BYTES must be at least 1 (got {options.ApiMaxBodyBytes})."));
        }

        if (options.WebhookMaxBodyBytes < 1)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"WEBHOOK_MAX_BODY_BYTES must be at least 1 (got {options.WebhookMaxBodyBytes})."));
        }

        if (options.HttpsPort is < 1 or > 65535)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"HTTPS_PORT must be a port between 1 and 65535 (got {options.HttpsPort})."));
        }

        if (options.HstsMaxAgeSeconds < 0)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"HSTS_MAX_AGE_SECONDS must be 0 (off) or more (got {options.HstsMaxAgeSeconds})."));
        }

        HttpEdgeOptions.ParseNetworks(options.TrustedProxies, errors);
        HttpEdgeOptions.ParseOrigins(options.CorsAllowedOrigins, errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
