using System.IdentityModel.Tokens.Jwt;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using DevOrchestrator.Hosting;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;

namespace DevOrchestrator.Features.Auth;

public static class AuthenticationServiceCollectionExtensions
{
    public static IServiceCollection AddAuth(this IServiceCollection services, AuthOptions auth, ServerOptions server)
    {
        var key = JwtSigningKey.Resolve(auth, server);
        services.AddSingleton(key);
        services.AddSingleton<TokenIssuer>();
        services.AddScoped<UserAccounts>();
        services.AddSingleton<Microsoft.AspNetCore.Identity.IPasswordHasher<User>, Microsoft.AspNetCore.Identity.PasswordHasher<User>>();
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
        {
            o.MapInboundClaims = false;
            o.TokenValidationParameters = key.ValidationParameters();
            o.Events = new JwtBearerEvents
            {
                // Browsers cannot set headers on a WebSocket: /ws also takes ?access_token=.
                OnMessageReceived = context =>
                {
                    if (context.Request.Path.StartsWithSegments("/ws") && context.Request.Query.TryGetValue("access_token", out var token))
                    {
                        context.Token = token;
                    }

                    return Task.CompletedTask;
                },
                OnChallenge = async context =>
                {
                    context.HandleResponse();
                    var message = context.AuthenticateFailure is SecurityTokenExpiredException
                        ? "The bearer token has expired."
                        : context.AuthenticateFailure is not null ? "The bearer token is invalid." : "A bearer token is required (Authorization: Bearer <token>).";
                    context.Response.Headers.WWWAuthenticate = "Bearer";
                    await Api.Error(context.HttpContext, StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized, message).ExecuteAsync(context.HttpContext);
                },
                OnForbidden = context =>
                    Api.Error(context.HttpContext, StatusCodes.Status403Forbidden, ErrorCodes.Forbidden, "Your role does not allow this operation.").ExecuteAsync(context.HttpContext),
            };
        });
        services.AddAuthorizationBuilder()
            .AddPolicy(Roles.CanView, p => p.RequireAuthenticatedUser().RequireClaim(TokenIssuer.RoleClaim, Roles.Viewer, Roles.Operator, Roles.Admin))
            .AddPolicy(Roles.CanOperate, p => p.RequireAuthenticatedUser().RequireClaim(TokenIssuer.RoleClaim, Roles.Operator, Roles.Admin))
            .AddPolicy(Roles.CanAdminister, p => p.RequireAuthenticatedUser().RequireClaim(TokenIssuer.RoleClaim, Roles.Admin));
        return services;
    }

    public static long? UserId(this ClaimsPrincipal user) =>
        long.TryParse(user.FindFirstValue(JwtRegisteredClaimNames.Sub), out var id) ? id : null;
}

/// <summary>
/// The key that signs and checks tokens: <c>JWT_SECRET_KEY</c>, or on a non-production install a random key generated
/// once into <c>DATA_DIR/jwt_secret</c> (mode 0600) so that tokens survive restarts and the CLI can issue them.
/// </summary>
public sealed class JwtSigningKey(SymmetricSecurityKey key)
{
    public const string Issuer = "devorch";
    public const string Audience = "devorch";

    public SymmetricSecurityKey Key { get; } = key;

    public static JwtSigningKey Resolve(AuthOptions auth, ServerOptions server)
    {
        if (!string.IsNullOrWhiteSpace(auth.JwtSecretKey))
        {
            return new JwtSigningKey(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(auth.JwtSecretKey)));
        }

        if (server.IsProduction)
        {
            throw new SettingsException(["JWT_SECRET_KEY must be set when ENVIRONMENT=production (at least 32 characters)."]);
        }

        var path = Path.Combine(server.FullDataDir, "jwt_secret");
        Directory.CreateDirectory(server.FullDataDir);
        if (!File.Exists(path))
        {
            // Written to a private temporary file and renamed into place, so that a process starting at the same time
            // (the CLI next to the server) never reads a half-written key: the first rename wins, the others use it.
            var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var stream = new FileStream(temp, options))
            {
                stream.Write(Encoding.UTF8.GetBytes(Convert.ToBase64String(RandomNumberGenerator.GetBytes(48))));
                stream.Flush(flushToDisk: true);
            }

            try
            {
                File.Move(temp, path, overwrite: false);
            }
            catch (IOException) when (File.Exists(path))
            {
                File.Delete(temp);
            }
        }

        return new JwtSigningKey(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(File.ReadAllText(path).Trim())));
    }

    public TokenValidationParameters ValidationParameters() => new()
    {
        ValidIssuer = Issuer,
        ValidAudience = Audience,
        IssuerSigningKey = Key,
        ValidateIssuerSigningKey = true,
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        ClockSkew = TimeSpan.FromSeconds(30),
        RoleClaimType = TokenIssuer.RoleClaim,
        NameClaimType = JwtRegisteredClaimNames.Email,
    };
}

/// <summary>Issues signed JWTs for users (login and <c>devorch token create</c>).</summary>
public sealed class TokenIssuer(JwtSigningKey signingKey, TimeProvider timeProvider)
{
    public const string RoleClaim = "role";

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
                [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N"),
            },
            SigningCredentials = new SigningCredentials(signingKey.Key, SecurityAlgorithms.HmacSha256),
        };
        return (new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(descriptor), expires);
    }
}
