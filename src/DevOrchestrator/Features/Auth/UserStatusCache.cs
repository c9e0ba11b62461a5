using System.Collections.Concurrent;
using DevOrchestrator.Data;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Auth;

/// <summary>
/// Whether a token's user is still active, their current role and token version, checked on every authenticated request. Answers are
/// kept for <see cref="Lifetime"/> per process: a change made through this process (<see cref="UserAccounts"/>) is
/// seen on the next request; one made elsewhere (another replica, the CLI) within <see cref="Lifetime"/>.
/// </summary>
public sealed class UserStatusCache(TimeProvider timeProvider)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<long, Entry> _entries = new();

    /// <summary>
    /// The user's role and token version if they exist and are active; null when disabled or deleted. A token whose
    /// version is not the current one was revoked.
    /// </summary>
    /// <param name="services">The request's services: a database context is resolved from them only on a miss.</param>
    public async ValueTask<(string Role, int TokenVersion)?> ActiveAsync(long userId, IServiceProvider services, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetTimestamp();
        if (_entries.TryGetValue(userId, out var entry) && now < entry.ExpiresAt)
        {
            return entry.Role is null ? null : (entry.Role, entry.TokenVersion);
        }

        var db = services.GetRequiredService<AppDbContext>();
        var user = await db.Users.AsNoTracking().Where(u => u.Id == userId).Select(u => new { u.Role, u.IsActive, u.TokenVersion }).FirstOrDefaultAsync(cancellationToken);
        var role = user is { IsActive: true } ? user.Role : null;
        _entries[userId] = new Entry(role, user?.TokenVersion ?? 0, now + (long)(Lifetime.TotalSeconds * timeProvider.TimestampFrequency));
        return role is null ? null : (role, user!.TokenVersion);
    }

    public void Forget(long userId) => _entries.TryRemove(userId, out _);

    private readonly record struct Entry(string? Role, int TokenVersion, long ExpiresAt);
}
