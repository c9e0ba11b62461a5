using System.IdentityModel.Tokens.Jwt;
using System.Security.Claims;
using DevOrchestrator.Data;
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
        services.AddSingleton<UserStatusCache>();
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
                // A disabled user's tokens stop working, a revoked token is refused, and a changed role applies, on the next request.
                OnTokenValidated = async context =>
                {
                    var userId = context.Principal?.UserId();
                    var status = userId is null ? null : await context.HttpContext.RequestServices.GetRequiredService<UserStatusCache>()
                        .ActiveAsync(userId.Value, context.HttpContext.RequestServices, context.HttpContext.RequestAborted);
                    if (status is not { } active)
                    {
                        context.Fail(new UserDisabledException());
                        return;
                    }

                    var tokenVersion = int.TryParse(context.Principal!.FindFirst(TokenIssuer.TokenVersionClaim)?.Value, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : 0;
                    if (tokenVersion != active.TokenVersion)
                    {
                        context.Fail(new TokenRevokedException());
                        return;
                    }

                    var role = active.Role;

                    if (context.Principal!.Identity is ClaimsIdentity identity && identity.FindFirst(TokenIssuer.RoleClaim) is { } claim && claim.Value != role)
                    {
                        identity.RemoveClaim(claim);
                        identity.AddClaim(new Claim(TokenIssuer.RoleClaim, role));
                    }
                },
                OnChallenge = async context =>
                {
                    context.HandleResponse();
                    var message = context.AuthenticateFailure is UserDisabledException
                        ? "The user is disabled or no longer exists."
                        : context.AuthenticateFailure is TokenRevokedException
                        ? "The bearer token was revoked (logout, or an admin revoked the user's tokens); sign in again."
                        : context.AuthenticateFailure is SecurityTokenExpiredException
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
