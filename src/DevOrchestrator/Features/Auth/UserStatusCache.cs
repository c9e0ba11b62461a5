using System.Collections.Concurrent;
using DevOrchestrator.Data;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Auth;

/// <summary>
/// Whether a token's user is still active, and their current role, checked on every authenticated request. Answers are
/// kept for <see cref="Lifetime"/> per process: a change made through this process (<see cref="UserAccounts"/>) is
/// seen on the next request; one made elsewhere (another replica, the CLI) within <see cref="Lifetime"/>.
/// </summary>
public sealed class UserStatusCache(TimeProvider timeProvider)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<long, Entry> _entries = new();

    /// <summary>The user's role if they exist and are active; null when disabled or deleted.</summary>
    /// <param name="services">The request's services: a database context is resolved from them only on a miss.</param>
    public async ValueTask<string?> ActiveRoleAsync(long userId, IServiceProvider services, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetTimestamp();
        if (_entries.TryGetValue(userId, out var entry) && now < entry.ExpiresAt)
        {
            return entry.Role;
        }

        var db = services.GetRequiredService<AppDbContext>();
        var user = await db.Users.AsNoTracking().Where(u => u.Id == userId).Select(u => new { u.Role, u.IsActive }).FirstOrDefaultAsync(cancellationToken);
        var role = user is { IsActive: true } ? user.Role : null;
        _entries[userId] = new Entry(role, now + (long)(Lifetime.TotalSeconds * timeProvider.TimestampFrequency));
        return role;
    }

    public void Forget(long userId) => _entries.TryRemove(userId, out _);

    private readonly record struct Entry(string? Role, long ExpiresAt);
}
