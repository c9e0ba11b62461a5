namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>An issue tracker (Jira, Linear…).</summary>
public interface ITaskManagementPlugin : IPlugin
{
    /// <summary>One issue by key; the description is plain text (rich formats converted).</summary>
    Task<TrackerIssue> GetIssueAsync(string issueKey, CancellationToken cancellationToken);

    /// <summary>One page of a search in the tracker's query language (JQL); pass the returned token for the next page.</summary>
    Task<TrackerIssuePage> SearchAsync(string query, string? pageToken, int maxResults, CancellationToken cancellationToken);

    /// <summary>Creates an issue or an epic; <paramref name="idempotencyKey"/> is stored with it so a retry finds it.</summary>
    Task<TrackerIssue> CreateIssueAsync(TrackerIssueDraft draft, string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>Comments on an issue; <paramref name="idempotencyKey"/> is stored with the comment so a retry finds it.</summary>
    Task<ExternalObject> AddCommentAsync(string issueKey, string text, string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>The comment added earlier with <paramref name="idempotencyKey"/> on that issue, or null.</summary>
    Task<ExternalObject?> FindCommentAsync(string issueKey, string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>The issue created earlier with <paramref name="idempotencyKey"/> from this draft, or null.</summary>
    Task<TrackerIssue?> FindIssueAsync(TrackerIssueDraft draft, string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>
    /// Moves the issue to <paramref name="targetStatus"/> — one of <see cref="TrackerStatuses"/> (mapped to the tracker's
    /// own status names by the plugin's settings) or a status name of the tracker — through an available transition.
    /// An issue already in that status is left alone.
    /// </summary>
    Task<TrackerTransition> TransitionAsync(string issueKey, string targetStatus, CancellationToken cancellationToken);
}
