using DevOrchestrator.Data;
using DevOrchestrator.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Auth;

/// <summary>
/// <c>/api/v1/auth/api-keys</c>: the caller creates, lists and revokes their own API keys; an admin lists and revokes
/// anyone's. The key itself is answered once, at creation.
/// </summary>
public static class ApiKeysApi
{
    public sealed record CreateApiKeyRequest(string? Name, int? ExpiresInDays);

    /// <summary>A key as lists show it: never the key, only its first and last characters.</summary>
    public sealed record ApiKeyResponse(
        long Id, long UserId, string Name, string Prefix, string LastChars, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt,
        DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt)
    {
        public static ApiKeyResponse From(ApiKey k) => new(k.Id, k.UserId, k.Name, k.Prefix, k.LastChars, k.CreatedAt, k.ExpiresAt, k.LastUsedAt, k.RevokedAt);
    }

    /// <summary>A new key: <c>key</c> is shown this once.</summary>
    public sealed record CreatedApiKeyResponse(long Id, long UserId, string Name, string Key, string Prefix, string LastChars, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt);

    public sealed record ApiKeyFilters([FromQuery(Name = "user_id")] string? UserId);

    private static readonly string[] s_sortable = ["id"];

    public static IEndpointRouteBuilder MapApiKeysApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/auth/api-keys").WithTags("Auth").RequireAuthorization(Roles.CanView);
        group.MapPost("/", CreateAsync).WithSummary("Create an API key for the caller (name, optional expires_in_days): the key (dvo_…) is answered once; use it as a bearer token.")
            .ProducesData<CreatedApiKeyResponse>(StatusCodes.Status201Created);
        group.MapGet("/", ListAsync).WithSummary("The caller's API keys without the secret; admins may give user_id for another user's.")
            .WithMetadata(new SortableFields(s_sortable)).ProducesData<List<ApiKeyResponse>>();
        group.MapDelete("/{id:long}", RevokeAsync).WithSummary("Revoke an API key of the caller (admins: anyone's); refused from the next request (within 2 s on other replicas).")
            .ProducesData<ApiKeyResponse>().ProducesErrors(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<Results<JsonHttpResult<ApiResponse<CreatedApiKeyResponse>>, JsonHttpResult<ApiErrorResponse>>> CreateAsync(
        CreateApiKeyRequest request, HttpContext context, ApiKeys keys)
    {
        if (context.User.HasClaim(c => c.Type == ApiKeyAuthenticator.KeyIdClaim))
        {
            // A leaked key must not be able to mint keys that outlive its revocation.
            return Api.Error(context, StatusCodes.Status403Forbidden, ErrorCodes.Forbidden, "API keys are created with a login token, not with an API key.");
        }

        var validation = new Validation().Required("name", request.Name, ApiKeys.MaxNameLength);
        if (request.ExpiresInDays is { } days && days is < 1 or > ApiKeys.MaxLifetimeDays)
        {
            validation.Add("expires_in_days", $"must be a whole number from 1 to {ApiKeys.MaxLifetimeDays} (leave it out for a key that does not expire)");
        }

        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        // Not the request's token: a key the client asked for is created whole even if it goes away.
        var (row, key) = await keys.CreateAsync(context.User.UserId()!.Value, request.Name!, request.ExpiresInDays is { } d ? TimeSpan.FromDays(d) : null, CancellationToken.None);
        context.Response.Headers.Location = $"/api/v1/auth/api-keys/{row.Id}";
        return Api.Ok(context, new CreatedApiKeyResponse(row.Id, row.UserId, row.Name, key, row.Prefix, row.LastChars, row.CreatedAt, row.ExpiresAt),
            "API key created: store it now, it is not shown again.", statusCode: StatusCodes.Status201Created);
    }

    private static async Task<Results<JsonHttpResult<ApiResponse<List<ApiKeyResponse>>>, JsonHttpResult<ApiErrorResponse>>> ListAsync(
        [AsParameters] PageQuery page, [AsParameters] ApiKeyFilters filters, HttpContext context, ApiKeys keys, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        var paging = PageRequest.Read(page, validation, s_sortable);
        var caller = context.User.UserId()!.Value;
        var owner = caller;
        if (!string.IsNullOrEmpty(filters.UserId) && !long.TryParse(filters.UserId, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out owner))
        {
            validation.Add("user_id", "must be a user id (a whole number)");
        }

        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        if (owner != caller && !context.User.HasClaim(TokenIssuer.RoleClaim, Roles.Admin))
        {
            return Api.Error(context, StatusCodes.Status403Forbidden, ErrorCodes.Forbidden, "Only admins may list another user's API keys.");
        }

        var query = keys.Query(owner);
        var total = await query.LongCountAsync(cancellationToken);
        var ordered = paging.Descending ? query.OrderByDescending(k => k.Id) : query.OrderBy(k => k.Id);
        var rows = await ordered.Skip((paging.Page - 1) * paging.PerPage).Take(paging.PerPage).ToListAsync(cancellationToken);
        return Api.Ok(context, rows.Select(ApiKeyResponse.From).ToList(), pagination: paging.Describe(total));
    }

    private static async Task<Results<JsonHttpResult<ApiResponse<ApiKeyResponse>>, JsonHttpResult<ApiErrorResponse>>> RevokeAsync(
        long id, HttpContext context, ApiKeys keys)
    {
        // Another user's key is "not found" to a non-admin: its existence is not theirs to learn.
        var owner = context.User.HasClaim(TokenIssuer.RoleClaim, Roles.Admin) ? (long?)null : context.User.UserId()!.Value;
        var row = await keys.RevokeAsync(id, owner, CancellationToken.None);
        return row is null ? Api.NotFound(context, "API key", id) : Api.Ok(context, ApiKeyResponse.From(row), "API key revoked.");
    }
}
