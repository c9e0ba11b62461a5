using System.Security.Cryptography;
using DevOrchestrator.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Auth;

/// <summary>Creates users (used by <c>devorch user create</c> and tests).</summary>
public sealed class UserAccounts(AppDbContext db, IPasswordHasher<User> hasher, TimeProvider timeProvider)
{
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
}
