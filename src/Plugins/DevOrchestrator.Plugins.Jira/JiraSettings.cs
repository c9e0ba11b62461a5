using DevOrchestrator.Abstractions.Plugins;
using Microsoft.Extensions.Configuration;

namespace DevOrchestrator.Plugins.Jira;

/// <summary>
/// The Jira Cloud plugin's settings, bound from the environment variables named on each property. The plugin is
/// configured when <c>JIRA_URL</c>, <c>JIRA_EMAIL</c> and <c>JIRA_API_TOKEN</c> are all set; a blank mapping setting
/// falls back to its default.
/// </summary>
public sealed class JiraSettings
{
    public const string DefaultStatusTodo = "To Do";
    public const string DefaultStatusInProgress = "In Progress";
    public const string DefaultStatusInReview = "In Review";
    public const string DefaultStatusDone = "Done";
    public const string DefaultIssueTypeTask = "Task";
    public const string DefaultIssueTypeEpic = "Epic";
    public const string DefaultIntakeLabel = "ai-dev";
    public const int DefaultPollIntervalSeconds = 300;

    /// <summary>The site, e.g. <c>https://your-domain.atlassian.net</c> (or a test server speaking the same API).</summary>
    [ConfigurationKeyName("JIRA_URL")] public string? Url { get; set; }

    /// <summary>The Atlassian account's email address (the user name of basic authentication).</summary>
    [ConfigurationKeyName("JIRA_EMAIL")] public string? Email { get; set; }

    /// <summary>An Atlassian API token of that account.</summary>
    [ConfigurationKeyName("JIRA_API_TOKEN")] public string? ApiToken { get; set; }

    /// <summary>The secret of the admin webhook (<c>X-Hub-Signature</c>); webhooks are refused without it.</summary>
    [ConfigurationKeyName("JIRA_WEBHOOK_SECRET")] public string? WebhookSecret { get; set; }

    /// <summary>Overrides <c>RATE_LIMIT_REQUESTS_PER_SECOND</c> for Jira calls.</summary>
    [ConfigurationKeyName("JIRA_RATE_LIMIT_REQUESTS_PER_SECOND")] public double? RateLimitRequestsPerSecond { get; set; }

    [ConfigurationKeyName("JIRA_STATUS_TODO")] public string? StatusTodo { get; set; } = DefaultStatusTodo;
    [ConfigurationKeyName("JIRA_STATUS_IN_PROGRESS")] public string? StatusInProgress { get; set; } = DefaultStatusInProgress;
    [ConfigurationKeyName("JIRA_STATUS_IN_REVIEW")] public string? StatusInReview { get; set; } = DefaultStatusInReview;
    [ConfigurationKeyName("JIRA_STATUS_DONE")] public string? StatusDone { get; set; } = DefaultStatusDone;

    [ConfigurationKeyName("JIRA_ISSUE_TYPE_TASK")] public string? IssueTypeTask { get; set; } = DefaultIssueTypeTask;
    [ConfigurationKeyName("JIRA_ISSUE_TYPE_EPIC")] public string? IssueTypeEpic { get; set; } = DefaultIssueTypeEpic;

    /// <summary>Issues with this label become tasks (webhook and poll).</summary>
    [ConfigurationKeyName("JIRA_INTAKE_LABEL")] public string? IntakeLabel { get; set; } = DefaultIntakeLabel;

    /// <summary>The status the poll looks for (the default JQL's <c>status = …</c>).</summary>
    [ConfigurationKeyName("JIRA_INTAKE_STATUS")] public string? IntakeStatus { get; set; } = DefaultStatusTodo;

    /// <summary>Seconds between JQL polls; 0 turns polling off.</summary>
    [ConfigurationKeyName("JIRA_POLL_INTERVAL_SECONDS")] public int? PollIntervalSeconds { get; set; } = DefaultPollIntervalSeconds;

    /// <summary>The poll's JQL, replacing the default built from the projects' keys, the label and the status.</summary>
    [ConfigurationKeyName("JIRA_POLL_JQL")] public string? PollJql { get; set; }

    /// <summary>Whether the required settings are all present.</summary>
    public bool IsConfigured => !string.IsNullOrWhiteSpace(Url) && !string.IsNullOrWhiteSpace(Email) && !string.IsNullOrWhiteSpace(ApiToken);

    /// <summary>The poll interval, or null when polling is off.</summary>
    public TimeSpan? PollInterval => (PollIntervalSeconds ?? DefaultPollIntervalSeconds) is > 0 and var seconds ? TimeSpan.FromSeconds(seconds) : null;

    /// <summary>The Jira status name for a logical status (<see cref="TrackerStatuses"/>), or the value itself when it is not one.</summary>
    public string StatusName(string status) => status.ToLowerInvariant() switch
    {
        TrackerStatuses.Todo => Or(StatusTodo, DefaultStatusTodo),
        TrackerStatuses.InProgress => Or(StatusInProgress, DefaultStatusInProgress),
        TrackerStatuses.InReview => Or(StatusInReview, DefaultStatusInReview),
        TrackerStatuses.Done => Or(StatusDone, DefaultStatusDone),
        _ => status,
    };

    /// <summary>The Jira issue type for a draft's kind: <c>epic</c> → <c>JIRA_ISSUE_TYPE_EPIC</c>, anything else → <c>JIRA_ISSUE_TYPE_TASK</c>.</summary>
    public string IssueTypeName(string? kind) => string.Equals(kind, "epic", StringComparison.OrdinalIgnoreCase)
        ? Or(IssueTypeEpic, DefaultIssueTypeEpic)
        : Or(IssueTypeTask, DefaultIssueTypeTask);

    public string EffectiveIntakeLabel => Or(IntakeLabel, DefaultIntakeLabel);

    public string EffectiveIntakeStatus => Or(IntakeStatus, DefaultStatusTodo);

    internal static string Or(string? value, string fallback) => string.IsNullOrWhiteSpace(value) ? fallback : value.Trim();
}
