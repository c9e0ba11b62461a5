namespace DevOrchestrator.Data;

/// <summary>A call's worst-case cost held against its task and month until the call ends (or the reservation expires).</summary>
public sealed class CostReservation
{
    public long Id { get; set; }
    public long? TaskId { get; set; }
    public required string Month { get; set; }
    public long Micros { get; set; }
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>After this the sweeper releases it (the worker holding it died mid-call).</summary>
    public DateTimeOffset ExpiresAt { get; set; }
}
