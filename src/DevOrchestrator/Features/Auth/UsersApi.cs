using DevOrchestrator.Data;
using DevOrchestrator.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Auth;

/// <summary>
/// <c>/api/v1/users</c>, admins only: list, create, change role, disable and enable users — the same operations as
/// <c>devorch user …</c>, through <see cref="UserAccounts"/>. A disabled user cannot log in, and their tokens are
/// refused from their next request (<see cref="UserStatusCache"/>).
/// </summary>
public static class UsersApi
{
    public sealed record UserDetailResponse(long Id, string Email, string Role, bool IsActive, DateTimeOffset CreatedAt)
    {
        public static UserDetailResponse From(User u) => new(u.Id, u.Email, u.Role, u.IsActive, u.CreatedAt);
    }

    /// <summary>A created user; <c>password</c> is the generated one (shown once), null when the request gave it.</summary>
    public sealed record CreatedUserResponse(long Id, string Email, string Role, bool IsActive, DateTimeOffset CreatedAt, string? Password);

    public sealed record CreateUserRequest(string? Email, string? Role, string? Password);

    public sealed record UpdateUserRequest(string? Role, bool? IsActive);

    public sealed record ResetPasswordRequest(string? Password);

    /// <summary>The filters of <c>GET /api/v1/users</c>, bound as text so that one answer names every bad value.</summary>
    public sealed record UserFilters([FromQuery(Name = "role")] string? Role, [FromQuery(Name = "is_active")] string? IsActive);

    private static readonly string[] s_sortable = ["id"];

    public static IEndpointRouteBuilder MapUsersApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/users").WithTags("Users").RequireAuthorization(Roles.CanAdminister);
        group.MapGet("/", ListAsync).WithSummary("List users (admins only); filters role, is_active; page, per_page, order.")
            .WithMetadata(new SortableFields(s_sortable)).ProducesData<List<UserDetailResponse>>();
        group.MapPost("/", CreateAsync).WithSummary("Create a user (admins only); without a password one is generated and returned once.")
            .ProducesData<CreatedUserResponse>(StatusCodes.Status201Created).ProducesErrors(StatusCodes.Status409Conflict);
        group.MapGet("/{id:long}", GetAsync).WithSummary("Get a user (admins only).")
            .ProducesData<UserDetailResponse>().ProducesErrors(StatusCodes.Status404NotFound);
        group.MapPatch("/{id:long}", UpdateAsync).WithSummary("Change a user's role and/or is_active (admins only). The last active admin cannot be demoted or disabled.")
            .ProducesData<UserDetailResponse>().ProducesErrors(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        group.MapPost("/{id:long}/disable", (long id, HttpContext context, UserAccounts accounts) => ChangeAsync(id, null, false, context, accounts))
            .WithSummary("Disable a user (admins only): they cannot log in and their tokens stop working on their next request.")
            .ProducesData<UserDetailResponse>().ProducesErrors(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        group.MapPost("/{id:long}/revoke-tokens", RevokeTokensAsync)
            .WithSummary("Revoke every token and API key the user holds (admins only): refused from the next request (within 2 s on other replicas).")
            .ProducesData<UserDetailResponse>().ProducesErrors(StatusCodes.Status404NotFound);
        group.MapPost("/{id:long}/password", ResetPasswordAsync)
            .WithSummary("Set a user's password (admins only): the same rules as creation; every token of the user is revoked.")
            .ProducesData<UserDetailResponse>().ProducesErrors(StatusCodes.Status404NotFound);
        group.MapPost("/{id:long}/enable", (long id, HttpContext context, UserAccounts accounts) => ChangeAsync(id, null, true, context, accounts))
            .WithSummary("Enable a disabled user again (admins only).")
            .ProducesData<UserDetailResponse>().ProducesErrors(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<Results<JsonHttpResult<ApiResponse<List<UserDetailResponse>>>, JsonHttpResult<ApiErrorResponse>>> ListAsync(
        [AsParameters] PageQuery page, [AsParameters] UserFilters filters, HttpContext context, UserAccounts accounts, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        var paging = PageRequest.Read(page, validation, s_sortable);
        var role = filters.Role is { Length: > 0 } r ? r : null;
        validation.OneOf("role", role, Roles.All);
        bool? active = null;
        if (filters.IsActive is { Length: > 0 } activeText)
        {
            if (bool.TryParse(activeText, out var parsed))
            {
                active = parsed;
            }
            else
            {
                validation.Add("is_active", "must be true or false");
            }
        }

        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        var query = accounts.Query(role, active);
        var total = await query.LongCountAsync(cancellationToken);
        // Users list oldest first unless order=desc (the default order of other lists is newest first).
        var ordered = paging.Descending && page.Order == "desc" ? query.OrderByDescending(u => u.Id) : query.OrderBy(u => u.Id);
        var users = await ordered.Skip((paging.Page - 1) * paging.PerPage).Take(paging.PerPage).ToListAsync(cancellationToken);
        return Api.Ok(context, users.Select(UserDetailResponse.From).ToList(), pagination: paging.Describe(total));
    }

    private static async Task<Results<JsonHttpResult<ApiResponse<UserDetailResponse>>, JsonHttpResult<ApiErrorResponse>>> GetAsync(
        long id, HttpContext context, UserAccounts accounts, CancellationToken cancellationToken) =>
        await accounts.Query().FirstOrDefaultAsync(u => u.Id == id, cancellationToken) is { } user
            ? Api.Ok(context, UserDetailResponse.From(user))
            : Api.NotFound(context, "User", id);

    private static async Task<Results<JsonHttpResult<ApiResponse<CreatedUserResponse>>, JsonHttpResult<ApiErrorResponse>>> CreateAsync(
        CreateUserRequest request, HttpContext context, UserAccounts accounts, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("email", request.Email, 320).Required("role", request.Role, 20).OneOf("role", request.Role, Roles.All);
        if (request.Email is { } email && !string.IsNullOrWhiteSpace(email) && !email.Contains('@', StringComparison.Ordinal))
        {
            validation.Add("email", "must be an email address");
        }

        if (request.Password is not null && UserAccounts.PasswordProblem(request.Password) is { } problem)
        {
            validation.Add("password", problem);
        }

        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        var password = request.Password ?? UserAccounts.GeneratePassword();
        // The client asked for this user: its creation is not cut short by a disconnect.
        var user = await accounts.CreateAsync(request.Email!, request.Role!, password, CancellationToken.None);
        if (user is null)
        {
            return Api.Conflict(context, $"A user with email {request.Email!.Trim().ToLowerInvariant()} already exists.");
        }

        context.Response.Headers.Location = $"/api/v1/users/{user.Id}";
        return Api.Ok(context, new CreatedUserResponse(user.Id, user.Email, user.Role, user.IsActive, user.CreatedAt, request.Password is null ? password : null),
            "User created.", statusCode: StatusCodes.Status201Created);
    }

    private static async Task<Results<JsonHttpResult<ApiResponse<UserDetailResponse>>, JsonHttpResult<ApiErrorResponse>>> UpdateAsync(
        long id, UpdateUserRequest request, HttpContext context, UserAccounts accounts)
    {
        var validation = new Validation().OneOf("role", request.Role, Roles.All);
        if (request.Role is null && request.IsActive is null)
        {
            validation.Add("body", "give role and/or is_active");
        }

        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        return await ChangeAsync(id, request.Role, request.IsActive, context, accounts);
    }

    private static async Task<Results<JsonHttpResult<ApiResponse<UserDetailResponse>>, JsonHttpResult<ApiErrorResponse>>> ChangeAsync(
        long id, string? role, bool? active, HttpContext context, UserAccounts accounts)
    {
        var change = await accounts.ChangeAsync(id, role, active, CancellationToken.None);
        return change.Outcome switch
        {
            UserChangeOutcome.NotFound => Api.NotFound(context, "User", id),
            UserChangeOutcome.LastAdmin => Api.Conflict(context, $"User {id} is the last active admin: make another user admin first."),
            _ => Api.Ok(context, UserDetailResponse.From(change.User!), active switch { false => "User disabled.", true when role is null => "User enabled.", _ => "User updated." }),
        };
    }

    private static async Task<Results<JsonHttpResult<ApiResponse<UserDetailResponse>>, JsonHttpResult<ApiErrorResponse>>> RevokeTokensAsync(
        long id, HttpContext context, UserAccounts accounts, AppDbContext db)
    {
        // Not the request's token: a revocation the admin asked for is committed even if they go away.
        if (!await accounts.RevokeTokensAsync(id, apiKeysToo: true, CancellationToken.None))
        {
            return Api.NotFound(context, "User", id);
        }

        var user = await db.Users.AsNoTracking().SingleAsync(u => u.Id == id, CancellationToken.None);
        return Api.Ok(context, UserDetailResponse.From(user), "Every token and API key of the user is revoked.");
    }

    private static async Task<Results<JsonHttpResult<ApiResponse<UserDetailResponse>>, JsonHttpResult<ApiErrorResponse>>> ResetPasswordAsync(
        long id, ResetPasswordRequest request, HttpContext context, UserAccounts accounts)
    {
        if (UserAccounts.PasswordProblem(request.Password) is { } problem)
        {
            return Api.Invalid(context, new Validation().Add("password", problem));
        }

        // Not the request's token: a reset the admin asked for is committed even if they go away.
        return await accounts.ResetPasswordAsync(id, request.Password!, CancellationToken.None) is { } user
            ? Api.Ok(context, UserDetailResponse.From(user), "Password set; every token of the user is revoked.")
            : Api.NotFound(context, "User", id);
    }
}
