namespace DevOrchestrator.Data;

/// <summary>A stored event: every state change is one, streamed over SSE and WebSocket in id order.</summary>
public sealed class TaskEvent
{
    public long Id { get; set; }
    public long? TaskId { get; set; }

    /// <summary>Set instead of <see cref="TaskId"/> when the task is inserted in the same save (its id is not known yet).</summary>
    public DevTask? Task { get; set; }
    public required string Type { get; set; }
    public required string Payload { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}
