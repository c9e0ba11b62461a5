using System.Text.Json;
using DevOrchestrator.Data;
using DevOrchestrator.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace DevOrchestrator.Features.Events;

/// <summary>
/// Stages events in the caller's <see cref="AppDbContext"/>, so that an event commits together with the state change it
/// describes. Subscribers in this process are woken by <see cref="EventSignalInterceptor"/> after the commit; other
/// processes by the database's notification (<see cref="EventNotificationListener"/>, PostgreSQL) or their next poll.
/// </summary>
public sealed class EventPublisher(TimeProvider timeProvider)
{
    public TaskEvent Add(AppDbContext db, long? taskId, string type, object payload)
    {
        var ev = new TaskEvent
        {
            TaskId = taskId,
            Type = type,
            Payload = JsonSerializer.Serialize(payload, JsonDefaults.Options),
            CreatedAt = timeProvider.GetUtcNow(),
        };
        db.Events.Add(ev);
        return ev;
    }

    /// <summary>Stages an event for a task that is being inserted in the same save: one commit for both.</summary>
    public TaskEvent Add(AppDbContext db, DevTask task, string type, object payload)
    {
        var ev = Add(db, (long?)null, type, payload);
        ev.Task = task;
        return ev;
    }

    public async Task PublishAsync(AppDbContext db, long? taskId, string type, object payload, CancellationToken cancellationToken)
    {
        Add(db, taskId, type, payload);
        await db.SaveChangesAsync(cancellationToken);
    }
}

internal sealed class EventSignalInterceptor(EventSignal signal) : SaveChangesInterceptor
{
    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        PulseAfterSaveIfEventsAdded(eventData.Context);
        return result;
    }

    public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        PulseAfterSaveIfEventsAdded(eventData.Context);
        return ValueTask.FromResult(result);
    }

    private void PulseAfterSaveIfEventsAdded(DbContext? context)
    {
        if (context is null || !context.ChangeTracker.Entries<TaskEvent>().Any(e => e.State == EntityState.Added))
        {
            return;
        }

        void OnSaved(object? sender, SavedChangesEventArgs e)
        {
            context.SavedChanges -= OnSaved;
            signal.Pulse();
        }

        context.SavedChanges += OnSaved;
    }
}
