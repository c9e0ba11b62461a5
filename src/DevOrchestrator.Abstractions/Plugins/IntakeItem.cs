namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>
/// An external item turned into work, as a vendor plugin parsed it from a verified payload. The host maps it to a
/// project (<see cref="RepositoryUrl"/> for GitHub, <see cref="TrackerProjectKey"/> for Jira, <see cref="Channel"/>
/// for Slack) and makes at most one task per <see cref="Source"/> + <see cref="ExternalId"/>.
/// </summary>
public sealed record IntakeItem(IntakeKind Kind, string Source, string ExternalId, string Title, string? Description)
{
    public string? RepositoryUrl { get; init; }
    public string? TrackerProjectKey { get; init; }

    /// <summary>The chat channel's id (and name, for mapping by either).</summary>
    public string? Channel { get; init; }
    public string? ChannelName { get; init; }

    /// <summary>The vendor's name for who asked (a login, an account id, a Slack user).</summary>
    public string? RequestedBy { get; init; }

    /// <summary>The external item's web address.</summary>
    public string? Url { get; init; }

    /// <summary>For <see cref="IntakeKind.Feedback"/>: the pull request commented on, and the feedback text.</summary>
    public int? PullRequestNumber { get; init; }
    public string? Feedback { get; init; }

    public string? IgnoredReason { get; init; }

    public static IntakeItem Ignore(string source, string reason) => new(IntakeKind.Ignored, source, "", "", null) { IgnoredReason = reason };
}
