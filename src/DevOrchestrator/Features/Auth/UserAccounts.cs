using System.Security.Cryptography;
using DevOrchestrator.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Auth;

/// <summary>
/// Creates, lists and changes users: the one implementation behind <c>devorch user …</c> and <c>/api/v1/users</c>.
/// Every change forgets the user in this process's <see cref="UserStatusCache"/>, so their next request sees it.
/// </summary>
public sealed class UserAccounts(AppDbContext db, IPasswordHasher<User> hasher, UserStatusCache statusCache, TimeProvider timeProvider)
{
    public const int MinPasswordLength = 8;

    public static string GeneratePassword() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)).Replace('+', 'x').Replace('/', 'y');

    /// <returns>The new user, or null when the email is taken.</returns>
    public async Task<User?> CreateAsync(string email, string role, string password, CancellationToken cancellationToken)
    {
        email = email.Trim().ToLowerInvariant();
        if (await db.Users.AnyAsync(u => u.Email == email, cancellationToken))
        {
            return null;
        }

        var user = new User { Email = email, Role = role, PasswordHash = string.Empty, CreatedAt = timeProvider.GetUtcNow() };
        user.PasswordHash = hasher.HashPassword(user, password);
        db.Users.Add(user);
        await db.SaveChangesAsync(cancellationToken);
        return user;
    }

    public Task<User?> FindAsync(string email, CancellationToken cancellationToken)
    {
        var address = email.Trim().ToLowerInvariant();
        return db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Email == address, cancellationToken);
    }

    /// <summary>Users by id, optionally only one role or only active/disabled ones.</summary>
    public IQueryable<User> Query(string? role = null, bool? active = null)
    {
        var query = db.Users.AsNoTracking();
        if (role is not null)
        {
            query = query.Where(u => u.Role == role);
        }

        if (active is { } isActive)
        {
            query = query.Where(u => u.IsActive == isActive);
        }

        return query.OrderBy(u => u.Id);
    }

    /// <summary>Changes a user's role and/or whether they may sign in. The last active admin can be neither demoted nor disabled.</summary>
    public async Task<UserChange> ChangeAsync(long id, string? role, bool? active, CancellationToken cancellationToken)
    {
        var user = await db.Users.FirstOrDefaultAsync(u => u.Id == id, cancellationToken);
        if (user is null)
        {
            return new UserChange(UserChangeOutcome.NotFound, null);
        }

        var losesAdmin = user.Role == Roles.Admin && user.IsActive && ((role is not null && role != Roles.Admin) || active == false);
        if (losesAdmin && !await db.Users.AnyAsync(u => u.Id != id && u.Role == Roles.Admin && u.IsActive, cancellationToken))
        {
            return new UserChange(UserChangeOutcome.LastAdmin, user);
        }

        if (role is not null) user.Role = role;
        if (active is not null) user.IsActive = active.Value;
        await db.SaveChangesAsync(CancellationToken.None);
        statusCache.Forget(id);
        return new UserChange(UserChangeOutcome.Changed, user);
    }

    /// <summary>Revokes every token of the user issued so far (logout, or an admin's revocation); false when there is no such user.</summary>
    public async Task<bool> RevokeTokensAsync(long id, CancellationToken cancellationToken)
    {
        var changed = await db.Users.Where(u => u.Id == id).ExecuteUpdateAsync(s => s.SetProperty(u => u.TokenVersion, u => u.TokenVersion + 1), cancellationToken);
        statusCache.Forget(id);
        return changed > 0;
    }
}
