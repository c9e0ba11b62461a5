using System.Collections.Concurrent;
using System.Data.Common;
using System.Security.Claims;
using DevOrchestrator.Data;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Auth;

/// <summary>
/// Turns a <c>dvo_…</c> bearer value into its owner's identity, on every surface a JWT works on (REST, SSE, WebSocket).
/// A known key is kept for <see cref="UserStatusCache.Lifetime"/> per process, like a user's status: a key revoked
/// through this process is refused on the next request, one revoked elsewhere within that time. Unknown keys are not
/// cached (random guesses cannot fill memory). The owner's role and whether they are active come from
/// <see cref="UserStatusCache"/>. <c>last_used_at</c> is written at most once a minute per key and process.
/// </summary>
public sealed class ApiKeyAuthenticator(UserStatusCache statusCache, TimeProvider timeProvider)
{
    public const string KeyIdClaim = "api_key_id";

    private static readonly TimeSpan s_lastUsedResolution = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <returns>The owner's principal, or the reason the key is refused.</returns>
    public async ValueTask<(ClaimsPrincipal? Principal, Exception? Failure)> AuthenticateAsync(string key, IServiceProvider services, CancellationToken cancellationToken)
    {
        if (key.Length > 200)
        {
            return (null, new ApiKeyRefusedException("The API key is invalid."));
        }

        var hash = ApiKeys.Hash(key);
        var now = timeProvider.GetTimestamp();
        if (!_entries.TryGetValue(hash, out var entry) || now >= entry.CachedUntil)
        {
            var loaded = await LoadAsync(hash, services, cancellationToken);
            if (loaded is null)
            {
                return (null, new ApiKeyRefusedException("The API key is invalid."));
            }

            entry = loaded.Value;
            _entries[hash] = entry;
        }

        if (entry.Revoked)
        {
            return (null, new ApiKeyRefusedException("The API key was revoked."));
        }

        if (entry.ExpiresAt is { } expires && timeProvider.GetUtcNow() >= expires)
        {
            return (null, new ApiKeyRefusedException("The API key has expired."));
        }

        if (await statusCache.ActiveAsync(entry.UserId, services, cancellationToken) is not { } active)
        {
            return (null, new UserDisabledException());
        }

        var identity = new ClaimsIdentity(
            [
                new Claim("sub", entry.UserId.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new Claim("email", entry.Email),
                new Claim(TokenIssuer.RoleClaim, active.Role),
                new Claim(KeyIdClaim, entry.KeyId.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ],
            authenticationType: "ApiKey", nameType: "email", roleType: TokenIssuer.RoleClaim);
        return (new ClaimsPrincipal(identity), null);
    }

    /// <summary>Forgets every cached key (after a revocation through this process).</summary>
    public void Forget() => _entries.Clear();

    private async Task<Entry?> LoadAsync(string hash, IServiceProvider services, CancellationToken cancellationToken)
    {
        var db = services.GetRequiredService<AppDbContext>();
        var row = await db.ApiKeys.AsNoTracking().Where(k => k.KeyHash == hash)
            .Join(db.Users, k => k.UserId, u => u.Id, (k, u) => new { k.Id, k.UserId, u.Email, k.ExpiresAt, k.RevokedAt, k.LastUsedAt })
            .FirstOrDefaultAsync(cancellationToken);
        if (row is null)
        {
            return null;
        }

        var utcNow = timeProvider.GetUtcNow();
        if (row.RevokedAt is null && (row.LastUsedAt is not { } last || utcNow - last >= s_lastUsedResolution))
        {
            try
            {
                await db.ApiKeys.Where(k => k.Id == row.Id).ExecuteUpdateAsync(s => s.SetProperty(k => k.LastUsedAt, utcNow), cancellationToken);
            }
            catch (Exception ex) when (ex is DbException or DbUpdateException or TimeoutException)
            {
                // Bookkeeping only: a busy or unreachable database must not fail the sign-in it already answered.
            }
        }

        var cachedUntil = timeProvider.GetTimestamp() + (long)(UserStatusCache.Lifetime.TotalSeconds * timeProvider.TimestampFrequency);
        return new Entry(row.Id, row.UserId, row.Email, row.ExpiresAt, row.RevokedAt is not null, cachedUntil);
    }

    private readonly record struct Entry(long KeyId, long UserId, string Email, DateTimeOffset? ExpiresAt, bool Revoked, long CachedUntil);
}
