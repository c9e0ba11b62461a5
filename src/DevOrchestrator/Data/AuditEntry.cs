namespace DevOrchestrator.Data;

/// <summary>
/// One row of the audit log (<c>audit_log</c>): who did what to which target, and when. <see cref="Details"/> is a JSON
/// object that never holds a secret value (a changed secret setting is named, not shown).
/// </summary>
public sealed class AuditEntry
{
    public long Id { get; set; }
    public DateTimeOffset At { get; set; }

    /// <summary>The acting user; null for the command line on the database (<see cref="ActorEmail"/> is then <c>cli</c>).</summary>
    public long? ActorUserId { get; set; }
    public required string ActorEmail { get; set; }
    public required string Action { get; set; }
    public required string TargetType { get; set; }
    public string? TargetId { get; set; }
    public string? Details { get; set; }
    public string? ClientIp { get; set; }
    public string? RequestId { get; set; }
}
