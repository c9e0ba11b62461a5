namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>
/// A code host (GitHub, GitLab…). Besides the API calls it supplies credentials for git commands that talk to its
/// repositories; the host passes them per command, never writing them into <c>.git/config</c>.
/// </summary>
public interface IVersionControlPlugin : IPlugin
{
    /// <summary>Whether <paramref name="repositoryUrl"/> lives on this code host (matched by host name).</summary>
    bool Handles(string repositoryUrl);

    /// <summary>
    /// git configuration to apply to one git command against <paramref name="repositoryUrl"/> (for example
    /// <c>http.extraHeader</c> → <c>Authorization: Basic …</c>); empty when there is nothing to add.
    /// </summary>
    IReadOnlyList<KeyValuePair<string, string>> GitConfigFor(string repositoryUrl);

    Task<RepositoryInfo> GetRepositoryAsync(string repositoryUrl, CancellationToken cancellationToken);

    /// <summary>Creates <paramref name="branch"/> from <paramref name="baseBranch"/> at the code host, or reuses it when it exists.</summary>
    Task<BranchInfo> EnsureBranchAsync(string repositoryUrl, string branch, string baseBranch, CancellationToken cancellationToken);

    /// <summary>The open pull request whose head is <paramref name="branch"/>, or null.</summary>
    Task<PullRequestInfo?> FindPullRequestAsync(string repositoryUrl, string branch, CancellationToken cancellationToken);

    /// <summary>Opens a pull request for the draft's branch, or updates the title and body of the open one (never two).</summary>
    Task<PullRequestInfo> CreateOrUpdatePullRequestAsync(PullRequestDraft draft, CancellationToken cancellationToken);

    /// <summary>
    /// Comments on an issue or pull request. <paramref name="idempotencyKey"/> is kept with the comment (invisibly), so
    /// a retry after an unknown outcome finds the comment instead of posting it again.
    /// </summary>
    Task<ExternalObject> AddCommentAsync(string repositoryUrl, int number, string body, string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>The comment posted earlier with <paramref name="idempotencyKey"/> on that issue or pull request, or null.</summary>
    Task<ExternalObject?> FindCommentAsync(string repositoryUrl, int number, string idempotencyKey, CancellationToken cancellationToken);
}
