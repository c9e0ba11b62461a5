namespace DevOrchestrator.Data;

/// <summary>
/// A per-user API key for automation (<c>dvo_…</c>): only its SHA-256 hash is stored, with a few characters to recognise it
/// by. Usable as a bearer token with its owner's role until it is revoked or expires (decision record 0080).
/// </summary>
public sealed class ApiKey
{
    public long Id { get; set; }
    public long UserId { get; set; }
    public required string Name { get; set; }

    /// <summary>Lowercase hex SHA-256 of the whole key: what a request's bearer value is looked up by.</summary>
    public required string KeyHash { get; set; }

    /// <summary>The key's first characters (<c>dvo_</c> and four more), shown in lists to recognise it.</summary>
    public required string Prefix { get; set; }

    /// <summary>The key's last four characters, shown in lists.</summary>
    public required string LastChars { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }

    /// <summary>When the key last authenticated a request, to the minute (written at most once a minute per process).</summary>
    public DateTimeOffset? LastUsedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}
