using DevOrchestrator.Features.Effects;

namespace DevOrchestrator.Data;

/// <summary>
/// One external write (a push, a pull request, a comment, a transition, a message, a page), recorded under its
/// idempotency key before it is attempted (<see cref="ExternalEffectStatuses.Pending"/>) and with its result after
/// (<see cref="ExternalEffectStatuses.Completed"/>). A retried step or a resumed task that finds a completed record
/// reuses its result; one that finds a pending record (the outcome of the earlier attempt is unknown) asks the vendor
/// whether the object exists before writing again.
/// </summary>
public sealed class ExternalEffect
{
    public long Id { get; set; }

    /// <summary>Unique: <c>task:{id}:{operation}:{target}</c> (see <see cref="ExternalEffects"/>).</summary>
    public required string Key { get; set; }
    public long? TaskId { get; set; }
    public required string Plugin { get; set; }
    public required string Operation { get; set; }
    public string Status { get; set; } = ExternalEffectStatuses.Pending;
    public int Attempts { get; set; }

    /// <summary>The vendor object as JSON (ids and links, never a credential).</summary>
    public string? Result { get; set; }
    public string? Error { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }
}
