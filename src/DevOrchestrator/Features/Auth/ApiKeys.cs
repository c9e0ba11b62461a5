using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Audit;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Auth;

/// <summary>
/// Per-user API keys: <c>dvo_</c> and 32 random bytes in base64url (256 bits), shown once at creation and stored only
/// as their SHA-256 hash (decision record 0080). Creating and revoking a key is audited in the same transaction.
/// </summary>
public sealed class ApiKeys(AppDbContext db, AuditTrail audit, ApiKeyAuthenticator authenticator, TimeProvider timeProvider)
{
    /// <summary>Every key starts with this: bearer values with it are keys, not JWTs, and secret scanners can find leaked ones.</summary>
    public const string Prefix = "dvo_";

    public const int MaxNameLength = 100;
    public const int MaxLifetimeDays = 3650;

    public static string Generate() => Prefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    /// <summary>Lowercase hex SHA-256 of the key: a fast hash suffices for 256 random bits (nothing to guess from the hash).</summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public async Task<(ApiKey Row, string Key)> CreateAsync(long userId, string name, TimeSpan? lifetime, CancellationToken cancellationToken)
    {
        var key = Generate();
        var now = timeProvider.GetUtcNow();
        var row = new ApiKey
        {
            UserId = userId,
            Name = name.Trim(),
            KeyHash = Hash(key),
            Prefix = key[..(Prefix.Length + 4)],
            LastChars = key[^4..],
            CreatedAt = now,
            ExpiresAt = lifetime is { } l ? now + l : null,
        };
        // The key's id names the audit row's target: two saves, one transaction.
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        db.ApiKeys.Add(row);
        await db.SaveChangesAsync(cancellationToken);
        audit.Add(AuditActions.ApiKeyCreated, "api_key", row.Id, new { owner_user_id = userId, name = row.Name, prefix = row.Prefix, expires_at = row.ExpiresAt });
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (row, key);
    }

    /// <summary>Keys by id, newest first; only <paramref name="userId"/>'s when given.</summary>
    public IQueryable<ApiKey> Query(long? userId)
    {
        var query = db.ApiKeys.AsNoTracking();
        return userId is { } owner ? query.Where(k => k.UserId == owner) : query;
    }

    /// <summary>Revokes a key (again: no change); null when there is no such key, or it is not <paramref name="ownerId"/>'s when given.</summary>
    public async Task<ApiKey?> RevokeAsync(long id, long? ownerId, CancellationToken cancellationToken)
    {
        var row = await db.ApiKeys.FirstOrDefaultAsync(k => k.Id == id && (ownerId == null || k.UserId == ownerId), cancellationToken);
        if (row is null || row.RevokedAt is not null)
        {
            return row;
        }

        row.RevokedAt = timeProvider.GetUtcNow();
        audit.Add(AuditActions.ApiKeyRevoked, "api_key", row.Id, new { owner_user_id = row.UserId, name = row.Name, prefix = row.Prefix });
        await db.SaveChangesAsync(cancellationToken);
        authenticator.Forget();
        return row;
    }
}
