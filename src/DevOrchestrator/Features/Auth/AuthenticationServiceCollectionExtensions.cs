using System.IdentityModel.Tokens.Jwt;
using System.Security.Claims;
using DevOrchestrator.Hosting;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;

namespace DevOrchestrator.Features.Auth;

public static class AuthenticationServiceCollectionExtensions
{
    public static IServiceCollection AddAuth(this IServiceCollection services, DevOrchestratorSettings settings)
    {
        var key = JwtSigningKey.Resolve(settings);
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
