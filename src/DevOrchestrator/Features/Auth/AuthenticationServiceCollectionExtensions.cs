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
        services.AddSingleton<ApiKeyAuthenticator>();
        services.AddScoped<ApiKeys>();
        services.AddSingleton<Microsoft.AspNetCore.Identity.IPasswordHasher<User>, Microsoft.AspNetCore.Identity.PasswordHasher<User>>();
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
        {
            o.MapInboundClaims = false;
            o.TokenValidationParameters = key.ValidationParameters();
            o.Events = new JwtBearerEvents
            {
                // Browsers cannot set headers on a WebSocket: /ws also takes ?access_token=.
                OnMessageReceived = async context =>
                {
                    if (context.Request.Path.StartsWithSegments("/ws") && context.Request.Query.TryGetValue("access_token", out var token))
                    {
                        context.Token = token;
                    }

                    // An API key (dvo_…) where a JWT would be: its owner's identity, on every surface a JWT works on.
                    var bearer = context.Token ?? BearerValue(context.Request.Headers.Authorization.ToString());
                    if (bearer is not null && bearer.StartsWith(ApiKeys.Prefix, StringComparison.Ordinal))
                    {
                        var services = context.HttpContext.RequestServices;
                        var (principal, failure) = await services.GetRequiredService<ApiKeyAuthenticator>().AuthenticateAsync(bearer, services, context.HttpContext.RequestAborted);
                        if (principal is null)
                        {
                            context.Fail(failure!);
                            return;
                        }

                        context.Principal = principal;
                        context.Success();
                    }
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
                        : context.AuthenticateFailure is ApiKeyRefusedException refused
                        ? refused.Message
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

    private static string? BearerValue(string header) =>
        header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;

    public static long? UserId(this ClaimsPrincipal user) =>
        long.TryParse(user.FindFirstValue(JwtRegisteredClaimNames.Sub), out var id) ? id : null;
}
