using System.Net.Mail;
using DevOrchestrator.Abstractions.Plugins;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Plugins.Jira;

/// <summary>Checks <see cref="JiraSettings"/>: unset is fine (not configured); a malformed value is not.</summary>
public sealed class JiraSettingsValidator : IValidateOptions<JiraSettings>
{
    public ValidateOptionsResult Validate(string? name, JiraSettings options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        PluginSettingsBinding.CheckUrl(failures, "JIRA_URL", options.Url);
        if (!string.IsNullOrWhiteSpace(options.Url) && Uri.TryCreate(options.Url, UriKind.Absolute, out var url)
            && (url.UserInfo.Length > 0 || url.Query.Length > 0 || url.Fragment.Length > 0))
        {
            failures.Add("JIRA_URL must be the site's base URL, without credentials, query or fragment (e.g. https://your-domain.atlassian.net).");
        }

        if (!string.IsNullOrWhiteSpace(options.Email) && !MailAddress.TryCreate(options.Email.Trim(), out _))
        {
            failures.Add($"JIRA_EMAIL must be an email address (got '{options.Email}').");
        }

        if (options.RateLimitRequestsPerSecond is { } rate && (double.IsNaN(rate) || rate <= 0))
        {
            failures.Add($"JIRA_RATE_LIMIT_REQUESTS_PER_SECOND must be a positive number (got {rate}).");
        }

        if (options.PollIntervalSeconds is { } seconds && seconds != 0 && seconds < 10)
        {
            failures.Add($"JIRA_POLL_INTERVAL_SECONDS must be 0 (no polling) or at least 10 (got {seconds}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
