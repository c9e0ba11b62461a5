using DevOrchestrator.Data;
using DevOrchestrator.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Auth;

public static class AuthApi
{
    public sealed record LoginRequest(string? Email, string? Password);

    public sealed record LoginResponse(string AccessToken, string TokenType, DateTimeOffset ExpiresAt, UserResponse User);

    public sealed record UserResponse(long Id, string Email, string Role);

    public sealed record LogoutResponse(long UserId, bool TokensRevoked);

    public sealed record ChangePasswordRequest(string? CurrentPassword, string? NewPassword);

    public static IEndpointRouteBuilder MapAuthApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/auth").WithTags("Auth");
        group.MapPost("/login", LoginAsync).AllowAnonymous()
            .WithSummary("Exchange an email and password for a bearer token (JWT).").ProducesData<LoginResponse>().ProducesErrors(StatusCodes.Status401Unauthorized);
        group.MapGet("/me", (HttpContext context) => Api.Ok(context, new UserResponse(
            context.User.UserId() ?? 0,
            context.User.FindFirst("email")?.Value ?? string.Empty,
            context.User.FindFirst(TokenIssuer.RoleClaim)?.Value ?? string.Empty)))
            .RequireAuthorization(Roles.CanView).WithSummary("The caller's identity.").ProducesData<UserResponse>();
        group.MapPost("/logout", async (HttpContext context, UserAccounts accounts) =>
            {
                var userId = context.User.UserId() ?? 0;
                // Not the request's token: the sign-out the client asked for is committed even if it goes away.
                await accounts.RevokeTokensAsync(userId, apiKeysToo: false, CancellationToken.None);
                return Api.Ok(context, new LogoutResponse(userId, true), "Signed out: every token of this user is revoked, this one included.");
            })
            .RequireAuthorization(Roles.CanView)
            .WithSummary("Sign out: revokes every token of the caller (all sessions), this one included.").ProducesData<LogoutResponse>();
        group.MapPost("/password", ChangePasswordAsync).RequireAuthorization(Roles.CanView)
            .WithSummary("Change the caller's password (current_password, new_password): every token issued before is revoked; the answer carries a new one.")
            .ProducesData<LoginResponse>();
        return app;
    }

    public static async Task<Results<JsonHttpResult<ApiResponse<LoginResponse>>, JsonHttpResult<ApiErrorResponse>>> LoginAsync(
        LoginRequest request, HttpContext context, AppDbContext db, IPasswordHasher<User> hasher, TokenIssuer issuer,
        IOptions<AuthOptions> auth, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("email", request.Email, 320).Required("password", request.Password, 1000);
        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        var email = request.Email!.Trim().ToLowerInvariant();
        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Email == email, cancellationToken);
        var verified = user is { IsActive: true } && hasher.VerifyHashedPassword(user, user.PasswordHash, request.Password!) != PasswordVerificationResult.Failed;
        if (!verified)
        {
            return Api.Error(context, StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized, "The email or password is wrong.");
        }

        var (token, expires) = issuer.Issue(user!, TimeSpan.FromMinutes(auth.Value.JwtExpiresMinutes));
        return Api.Ok(context, new LoginResponse(token, "bearer", expires, new UserResponse(user!.Id, user.Email, user.Role)));
    }

    public static async Task<Results<JsonHttpResult<ApiResponse<LoginResponse>>, JsonHttpResult<ApiErrorResponse>>> ChangePasswordAsync(
        ChangePasswordRequest request, HttpContext context, UserAccounts accounts, TokenIssuer issuer, IOptions<AuthOptions> auth)
    {
        var validation = new Validation().Required("current_password", request.CurrentPassword, UserAccounts.MaxPasswordLength);
        if (UserAccounts.PasswordProblem(request.NewPassword) is { } problem)
        {
            validation.Add("new_password", problem);
        }

        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        // Not the request's token: the change the client asked for is committed even if it goes away.
        var change = await accounts.ChangePasswordAsync(context.User.UserId() ?? 0, request.CurrentPassword!, request.NewPassword!, CancellationToken.None);
        if (change.Outcome == UserChangeOutcome.WrongPassword)
        {
            return Api.Invalid(context, validation.Add("current_password", "is not your current password"));
        }

        if (change.User is not { } user)
        {
            return Api.NotFound(context, "User", context.User.UserId() ?? 0);
        }

        var (token, expires) = issuer.Issue(user, TimeSpan.FromMinutes(auth.Value.JwtExpiresMinutes));
        return Api.Ok(context, new LoginResponse(token, "bearer", expires, new UserResponse(user.Id, user.Email, user.Role)),
            "Password changed: every token issued before is revoked; use the new one.");
    }
}
