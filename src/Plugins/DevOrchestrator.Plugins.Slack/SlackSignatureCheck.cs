namespace DevOrchestrator.Plugins.Slack;

/// <summary>The result of checking a request's Slack signature.</summary>
public enum SlackSignatureCheck
{
    /// <summary>Signed with the signing secret, within the replay window.</summary>
    Valid,

    /// <summary><c>X-Slack-Request-Timestamp</c> or <c>X-Slack-Signature</c> is absent.</summary>
    Missing,

    /// <summary>The timestamp is outside the replay window (either direction): a replay, or a badly wrong clock.</summary>
    Stale,

    /// <summary>The signature does not match (or is not a <c>v0=</c> signature, or the timestamp is not a number).</summary>
    Invalid,
}
