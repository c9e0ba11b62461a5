using DevOrchestrator.Abstractions.Plugins;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Plugins.Confluence;

/// <summary>
/// Checks <see cref="ConfluenceSettings"/>: unset values are fine (the plugin is then not configured); malformed ones
/// fail with a message that starts with the variable's name.
/// </summary>
public sealed class ConfluenceSettingsValidator : IValidateOptions<ConfluenceSettings>
{
    public ValidateOptionsResult Validate(string? name, ConfluenceSettings options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (Uri.TryCreate(options.Url, UriKind.Absolute, out var uri) && !string.IsNullOrEmpty(uri.UserInfo))
        {
            // Checked first, so that no message repeats the URL with its credentials.
            failures.Add($"{ConfluenceSettings.UrlKey} must not contain credentials; set {ConfluenceSettings.EmailKey} and {ConfluenceSettings.ApiTokenKey} instead.");
        }
        else
        {
            PluginSettingsBinding.CheckUrl(failures, ConfluenceSettings.UrlKey, options.Url);
            if (failures.Count == 0 && uri is not null && (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment)))
            {
                failures.Add($"{ConfluenceSettings.UrlKey} must be the site's wiki base without a query or fragment (e.g. https://your-domain.atlassian.net/wiki).");
            }
        }

        if (!string.IsNullOrWhiteSpace(options.Email) && !options.Email.Contains('@', StringComparison.Ordinal))
        {
            failures.Add($"{ConfluenceSettings.EmailKey} must be the e-mail address of the Atlassian account that owns the API token.");
        }

        if (options.RateLimitRequestsPerSecond is { } rate && (double.IsNaN(rate) || double.IsInfinity(rate) || rate <= 0))
        {
            failures.Add($"{ConfluenceSettings.RateLimitKey} must be a positive number of requests per second (got {rate}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
