using System.Security.Cryptography;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Audit;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Auth;

/// <summary>
/// Creates, lists and changes users: the one implementation behind <c>devorch user …</c> and <c>/api/v1/users</c>.
/// Every change forgets the user in this process's <see cref="UserStatusCache"/>, so their next request sees it, and
/// is written to the audit log in the same transaction.
/// </summary>
public sealed class UserAccounts(
    AppDbContext db, IPasswordHasher<User> hasher, UserStatusCache statusCache, ApiKeyAuthenticator apiKeys, AuditTrail audit, TimeProvider timeProvider)
{
    public const int MinPasswordLength = 8;
    public const int MaxPasswordLength = 1000;

    public static string GeneratePassword() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)).Replace('+', 'x').Replace('/', 'y');

    /// <summary>What is wrong with a new password (the rules of user creation, reset and change); null when it is acceptable.</summary>
    public static string? PasswordProblem(string? password) => password switch
    {
        null or "" => "is required",
        { Length: < MinPasswordLength } => $"must be at least {MinPasswordLength} characters",
        { Length: > MaxPasswordLength } => $"must be at most {MaxPasswordLength} characters",
        _ when string.IsNullOrWhiteSpace(password) => "must not be only spaces",
        _ => null,
    };

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
        // The user's id names the audit row's target: two saves, one transaction.
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        db.Users.Add(user);
        await db.SaveChangesAsync(cancellationToken);
        audit.Add(AuditActions.UserCreated, "user", user.Id, new { email, role });
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
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

        if (role is not null && role != user.Role)
        {
            audit.Add(AuditActions.UserRoleChanged, "user", id, new { email = user.Email, from = user.Role, to = role });
            user.Role = role;
        }

        if (active is { } isActive && isActive != user.IsActive)
        {
            audit.Add(isActive ? AuditActions.UserEnabled : AuditActions.UserDisabled, "user", id, new { email = user.Email });
            user.IsActive = isActive;
        }

        await db.SaveChangesAsync(CancellationToken.None);
        statusCache.Forget(id);
        return new UserChange(UserChangeOutcome.Changed, user);
    }

    /// <summary>
    /// Revokes every token of the user issued so far (logout, or an admin's revocation); with <paramref name="apiKeysToo"/>
    /// (an admin's revocation) every API key of the user as well. False when there is no such user.
    /// </summary>
    public async Task<bool> RevokeTokensAsync(long id, bool apiKeysToo, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var user = await db.Users.FirstOrDefaultAsync(u => u.Id == id, cancellationToken);
        if (user is null)
        {
            return false;
        }

        await RaiseTokenVersionAsync(user, cancellationToken);
        var keys = apiKeysToo ? await db.ApiKeys.Where(k => k.UserId == id && k.RevokedAt == null).ToListAsync(cancellationToken) : [];
        var now = timeProvider.GetUtcNow();
        foreach (var key in keys)
        {
            key.RevokedAt = now;
        }

        audit.Add(AuditActions.UserTokensRevoked, "user", id, new { email = user.Email, reason = apiKeysToo ? "revoked" : "logout", api_keys_revoked = keys.Count });
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        statusCache.Forget(id);
        if (apiKeysToo)
        {
            apiKeys.Forget();
        }

        return true;
    }

    /// <summary>Sets a new password (an admin or the command line) and revokes the user's tokens; null when there is no such user.</summary>
    public async Task<User?> ResetPasswordAsync(long id, string password, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var user = await db.Users.FirstOrDefaultAsync(u => u.Id == id, cancellationToken);
        if (user is null)
        {
            return null;
        }

        await SetPasswordAsync(user, password, cancellationToken);
        audit.Add(AuditActions.UserPasswordReset, "user", id, new { email = user.Email });
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        statusCache.Forget(id);
        return user;
    }

    /// <summary>The signed-in user changes their own password, proving the current one; their tokens are revoked.</summary>
    public async Task<UserChange> ChangePasswordAsync(long id, string currentPassword, string newPassword, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var user = await db.Users.FirstOrDefaultAsync(u => u.Id == id, cancellationToken);
        if (user is null)
        {
            return new UserChange(UserChangeOutcome.NotFound, null);
        }

        if (hasher.VerifyHashedPassword(user, user.PasswordHash, currentPassword) == PasswordVerificationResult.Failed)
        {
            return new UserChange(UserChangeOutcome.WrongPassword, user);
        }

        await SetPasswordAsync(user, newPassword, cancellationToken);
        audit.Add(AuditActions.UserPasswordChanged, "user", id, new { email = user.Email });
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        statusCache.Forget(id);
        return new UserChange(UserChangeOutcome.Changed, user);
    }

    private async Task SetPasswordAsync(User user, string password, CancellationToken cancellationToken)
    {
        user.PasswordHash = hasher.HashPassword(user, password);
        await RaiseTokenVersionAsync(user, cancellationToken);
    }

    /// <summary>
    /// Raises the user's token version in the database, atomically (two revocations at once each count, and the row
    /// stays locked until the caller's transaction ends), and carries the new version onto the tracked user — the
    /// version a token issued in the same request must carry — without writing it again.
    /// </summary>
    private async Task RaiseTokenVersionAsync(User user, CancellationToken cancellationToken)
    {
        await db.Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.TokenVersion, u => u.TokenVersion + 1), cancellationToken);
        var version = await db.Users.AsNoTracking().Where(u => u.Id == user.Id).Select(u => u.TokenVersion).SingleAsync(cancellationToken);
        var property = db.Entry(user).Property(u => u.TokenVersion);
        property.OriginalValue = version;
        property.CurrentValue = version;
    }
}
