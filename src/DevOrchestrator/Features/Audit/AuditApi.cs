using System.Globalization;
using System.Text.Json;
using DevOrchestrator.Data;
using DevOrchestrator.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Audit;

/// <summary><c>GET /api/v1/audit</c> (admins): the audit log, newest first, filtered by actor, action, target and time.</summary>
public static class AuditApi
{
    public sealed record AuditEntryResponse(
        long Id, DateTimeOffset At, long? ActorUserId, string ActorEmail, string Action, string TargetType, string? TargetId,
        JsonElement? Details, string? ClientIp, string? RequestId)
    {
        public static AuditEntryResponse From(AuditEntry e) =>
            new(e.Id, e.At, e.ActorUserId, e.ActorEmail, e.Action, e.TargetType, e.TargetId, JsonDefaults.ParseStored(e.Details), e.ClientIp, e.RequestId);
    }

    /// <summary>The filters, bound as text so that one answer names every bad value.</summary>
    public sealed record AuditFilters(
        [FromQuery(Name = "actor")] string? Actor,
        [FromQuery(Name = "action")] string? Action,
        [FromQuery(Name = "target_type")] string? TargetType,
        [FromQuery(Name = "target_id")] string? TargetId,
        [FromQuery(Name = "since")] string? Since,
        [FromQuery(Name = "until")] string? Until);

    private static readonly string[] s_sortable = ["id"];

    /// <param name="adminPolicy">The authorization policy of admins (the audit log comes before Auth in the feature order).</param>
    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder app, string adminPolicy)
    {
        app.MapGet("/api/v1/audit", ListAsync).WithTags("Audit").RequireAuthorization(adminPolicy)
            .WithSummary("The audit log (admins only), newest first: actor (user id, email or cli), action, target_type, target_id, since, until (ISO 8601); page, per_page, order.")
            .WithMetadata(new SortableFields(s_sortable)).ProducesData<List<AuditEntryResponse>>();
        return app;
    }

    private static async Task<Results<JsonHttpResult<ApiResponse<List<AuditEntryResponse>>>, JsonHttpResult<ApiErrorResponse>>> ListAsync(
        [AsParameters] PageQuery page, [AsParameters] AuditFilters filters, HttpContext context, AppDbContext db, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        var paging = PageRequest.Read(page, validation, s_sortable);
        validation.OneOf("action", Blank(filters.Action), AuditActions.All).MaxLength("actor", filters.Actor, 320)
            .MaxLength("target_type", filters.TargetType, 50).MaxLength("target_id", filters.TargetId, 200);
        var since = ReadInstant("since", filters.Since, validation);
        var until = ReadInstant("until", filters.Until, validation);
        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        var query = db.AuditLog.AsNoTracking();
        if (Blank(filters.Actor) is { } actor)
        {
            var email = actor.Trim().ToLowerInvariant();
            query = long.TryParse(actor, NumberStyles.Integer, CultureInfo.InvariantCulture, out var actorId)
                ? query.Where(a => a.ActorUserId == actorId)
                : query.Where(a => a.ActorEmail == email);
        }

        if (Blank(filters.Action) is { } action) query = query.Where(a => a.Action == action);
        if (Blank(filters.TargetType) is { } targetType) query = query.Where(a => a.TargetType == targetType);
        if (Blank(filters.TargetId) is { } targetId) query = query.Where(a => a.TargetId == targetId);
        if (since is { } from) query = query.Where(a => a.At >= from);
        if (until is { } to) query = query.Where(a => a.At < to);

        var total = await query.LongCountAsync(cancellationToken);
        var ordered = paging.Descending ? query.OrderByDescending(a => a.Id) : query.OrderBy(a => a.Id);
        var rows = await ordered.Skip((paging.Page - 1) * paging.PerPage).Take(paging.PerPage).ToListAsync(cancellationToken);
        return Api.Ok(context, rows.Select(AuditEntryResponse.From).ToList(), pagination: paging.Describe(total));
    }

    private static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text;

    private static DateTimeOffset? ReadInstant(string field, string? text, Validation validation)
    {
        if (Blank(text) is null)
        {
            return null;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant))
        {
            return instant;
        }

        validation.Add(field, "must be an ISO 8601 date or date-time, e.g. 2026-12-01 or 2026-12-01T10:00:00Z");
        return null;
    }
}
