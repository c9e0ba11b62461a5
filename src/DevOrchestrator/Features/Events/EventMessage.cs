using System.Text.Json;
using DevOrchestrator.Data;

namespace DevOrchestrator.Features.Events;

/// <summary>The wire shape of one event on SSE and WebSocket.</summary>
public sealed record EventMessage(long Id, string Type, long? TaskId, JsonElement Data, DateTimeOffset Timestamp)
{
    public static EventMessage From(TaskEvent ev) =>
        new(ev.Id, ev.Type, ev.TaskId, JsonDocument.Parse(ev.Payload).RootElement.Clone(), ev.CreatedAt);
}
