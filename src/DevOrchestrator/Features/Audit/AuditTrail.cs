using System.Globalization;
using System.Text.Json;
using DevOrchestrator.Data;
using DevOrchestrator.Hosting;

namespace DevOrchestrator.Features.Audit;

/// <summary>
/// Adds audit rows to the request's (or command's) database context without saving: the caller's own
/// <c>SaveChanges</c> writes the row in the same transaction as the change it records. The actor, client IP and
/// request id come from the current request; outside a request (the command line on the database) the actor is
/// <see cref="CliActor"/>. Never pass a secret value in <c>details</c>: name a changed secret, do not show it.
/// </summary>
public sealed class AuditTrail(AppDbContext db, TimeProvider timeProvider, IHttpContextAccessor httpContextAccessor)
{
    /// <summary>The actor of a change made by <c>devorch</c> commands on the database (no signed-in user).</summary>
    public const string CliActor = "cli";

    public AuditEntry Add(string action, string targetType, object? targetId, object? details = null)
    {
        var context = httpContextAccessor.HttpContext;
        var user = context?.User;
        long? actorId = long.TryParse(user?.FindFirst("sub")?.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id) ? id : null;
        var entry = new AuditEntry
        {
            At = timeProvider.GetUtcNow(),
            ActorUserId = actorId,
            ActorEmail = actorId is null ? CliActor : user!.FindFirst("email")?.Value ?? $"user {actorId}",
            Action = action,
            TargetType = targetType,
            TargetId = targetId is null ? null : Convert.ToString(targetId, CultureInfo.InvariantCulture),
            Details = details is null ? null : JsonSerializer.Serialize(details, JsonDefaults.Options),
            ClientIp = context?.Connection.RemoteIpAddress?.ToString(),
            RequestId = context?.TraceIdentifier,
        };
        db.AuditLog.Add(entry);
        return entry;
    }

    /// <summary>Forgets an entry added for a change that did not happen after all.</summary>
    public void Discard(AuditEntry entry) => db.Entry(entry).State = Microsoft.EntityFrameworkCore.EntityState.Detached;
}
