using System.IdentityModel.Tokens.Jwt;
using DevOrchestrator.Data;
using Microsoft.IdentityModel.Tokens;

namespace DevOrchestrator.Features.Auth;

/// <summary>Issues signed JWTs for users (login and <c>devorch token create</c>).</summary>
public sealed class TokenIssuer(JwtSigningKey signingKey, TimeProvider timeProvider)
{
    public const string RoleClaim = "role";

    /// <summary>The user's <see cref="User.TokenVersion"/> when the token was issued (absent in older tokens: 0).</summary>
    public const string TokenVersionClaim = "tv";

    public (string Token, DateTimeOffset ExpiresAt) Issue(User user, TimeSpan lifetime)
    {
        var now = timeProvider.GetUtcNow();
        var expires = now + lifetime;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = JwtSigningKey.Issuer,
            Audience = JwtSigningKey.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = user.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
                [JwtRegisteredClaimNames.Email] = user.Email,
                [RoleClaim] = user.Role,
                [TokenVersionClaim] = user.TokenVersion,
                [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N"),
            },
            SigningCredentials = new SigningCredentials(signingKey.Key, SecurityAlgorithms.HmacSha256),
        };
        return (new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(descriptor), expires);
    }
}
