using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Hosting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace DevOrchestrator.Features.Events;

public static class EventStreams
{
    private static readonly TimeSpan s_heartbeat = TimeSpan.FromSeconds(15);

    /// <param name="listenForOtherProcesses">
    /// On PostgreSQL in a process that serves streams: LISTEN for events that other processes (workers, other API
    /// replicas) commit, so that they reach this process's streams at once (<see cref="EventNotificationListener"/>).
    /// </param>
    public static IServiceCollection AddEvents(this IServiceCollection services, bool listenForOtherProcesses = false)
    {
        services.AddSingleton<EventSignal>();
        services.AddSingleton<EventPublisher>();
        services.AddSingleton<IInterceptor, EventSignalInterceptor>();
        services.AddSingleton<EventHub>();
        services.AddHostedService(sp => sp.GetRequiredService<EventHub>());
        if (listenForOtherProcesses)
        {
            services.AddHostedService<EventNotificationListener>();
        }

        return services;
    }

    public static IEndpointRouteBuilder MapEventStreams(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/tasks/{id:long}/events", StreamTaskEventsAsync)
            .RequireAuthorization(Roles.CanView).WithTags("Tasks")
            .WithSummary("Server-Sent Events of one task; resumes after the Last-Event-ID header (or ?last_event_id=). Closes when the task has finished.")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream").ProducesErrors(StatusCodes.Status404NotFound);
        app.Map("/ws", AcceptWebSocketAsync).RequireAuthorization(Roles.CanView).WithTags("Events")
            .WithSummary("WebSocket of all events (task.status_update, workflow.step_completed, agent.status_update, system.alert); ?task_id= filters.")
            .ExcludeFromDescription();
        return app;
    }

    private static async Task StreamTaskEventsAsync(
        long id, [FromHeader(Name = "Last-Event-ID")] string? lastEventIdHeader, [FromQuery(Name = "last_event_id")] string? lastEventId,
        HttpContext context, AppDbContext db, EventHub hub, CancellationToken cancellationToken)
    {
        // A task the caller may not see answers 404, like one that does not exist (Features/Auth/Ownership).
        if (!await Ownership.VisibleTasks(db, context.User).AnyAsync(t => t.Id == id, cancellationToken))
        {
            await Api.NotFound(context, "Task", id).ExecuteAsync(context);
            return;
        }

        var lastHeader = string.IsNullOrEmpty(lastEventIdHeader) ? lastEventId ?? string.Empty : lastEventIdHeader;

        long lastId = 0;
        if (lastHeader.Length > 0 && !long.TryParse(lastHeader, NumberStyles.None, CultureInfo.InvariantCulture, out lastId))
        {
            await Api.Invalid(context, new Validation().Add("last_event_id", "must be an event id (a whole number)")).ExecuteAsync(context);
            return;
        }

        context.Response.Headers.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        await context.Response.WriteAsync("retry: 2000\n\n", cancellationToken);
        await context.Response.Body.FlushAsync(cancellationToken);

        using var unsubscribe = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var live = hub.Subscribe(unsubscribe.Token);
        var sent = new HashSet<long>();
        try
        {
            var history = await db.Events.AsNoTracking().Where(e => e.TaskId == id && e.Id > lastId).OrderBy(e => e.Id).ToListAsync(cancellationToken);
            var newest = DateTimeOffset.MinValue;
            foreach (var ev in history)
            {
                await WriteSseAsync(context, ev, sent, cancellationToken);
                newest = ev.CreatedAt > newest ? ev.CreatedAt : newest;
            }

            if (newest == DateTimeOffset.MinValue)
            {
                newest = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow() - TimeSpan.FromMinutes(1);
            }

            while (!cancellationToken.IsCancellationRequested)
            {
                var state = await StateAsync(db, context.User, id, cancellationToken);
                if (state == StreamState.Hidden)
                {
                    // The caller lost access (removed from the project) while streaming: stop, sending nothing more.
                    return;
                }

                if (state == StreamState.Finished)
                {
                    // Flush what committed together with the final status, then end the stream.
                    var rest = await db.Events.AsNoTracking().Where(e => e.TaskId == id && e.Id > lastId).OrderBy(e => e.Id).ToListAsync(cancellationToken);
                    foreach (var ev in rest)
                    {
                        await WriteSseAsync(context, ev, sent, cancellationToken);
                    }

                    await context.Response.WriteAsync("event: end\ndata: {}\n\n", cancellationToken);
                    await context.Response.Body.FlushAsync(cancellationToken);
                    return;
                }

                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                wait.CancelAfter(s_heartbeat);
                try
                {
                    if (await live.WaitToReadAsync(wait.Token))
                    {
                        // The hub only says "something committed": read this task's recent events from the database, in
                        // id order, so that an event the hub's cursor passed before it committed is not skipped (or sent
                        // out of order). Recent = created within the last minute before the newest one sent.
                        var relevant = false;
                        while (live.TryRead(out var ev))
                        {
                            relevant |= ev.TaskId == id;
                        }

                        if (relevant)
                        {
                            var since = newest - TimeSpan.FromMinutes(1);
                            var recent = await db.Events.AsNoTracking().Where(e => e.TaskId == id && e.Id > lastId && e.CreatedAt >= since).OrderBy(e => e.Id).ToListAsync(cancellationToken);
                            foreach (var ev in recent)
                            {
                                await WriteSseAsync(context, ev, sent, cancellationToken);
                                newest = ev.CreatedAt > newest ? ev.CreatedAt : newest;
                            }
                        }
                    }
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    await context.Response.WriteAsync(": keep-alive\n\n", cancellationToken);
                    await context.Response.Body.FlushAsync(cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away.
        }
    }

    private enum StreamState
    {
        Open,
        Finished,
        Hidden,
    }

    /// <summary>One query: whether the caller still sees the task, and whether it has finished.</summary>
    private static async Task<StreamState> StateAsync(AppDbContext db, System.Security.Claims.ClaimsPrincipal user, long id, CancellationToken cancellationToken)
    {
        var status = await Ownership.VisibleTasks(db, user).AsNoTracking().Where(t => t.Id == id).Select(t => t.Status).FirstOrDefaultAsync(cancellationToken);
        return status switch
        {
            null => StreamState.Hidden,
            TaskStatuses.Completed or TaskStatuses.Failed or TaskStatuses.Cancelled or TaskStatuses.BudgetExceeded => StreamState.Finished,
            _ => StreamState.Open,
        };
    }

    private static async Task WriteSseAsync(HttpContext context, TaskEvent ev, HashSet<long> sent, CancellationToken cancellationToken)
    {
        if (!sent.Add(ev.Id))
        {
            return;
        }

        var json = JsonSerializer.Serialize(EventMessage.From(ev), JsonDefaults.Options);
        await context.Response.WriteAsync($"id: {ev.Id}\nevent: {ev.Type}\ndata: {json}\n\n", cancellationToken);
        await context.Response.Body.FlushAsync(cancellationToken);
    }

    private static async Task AcceptWebSocketAsync(
        HttpContext context, EventHub hub, IDbContextFactory<AppDbContext> dbContexts, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await Api.Error(context, StatusCodes.Status400BadRequest, ErrorCodes.BadRequest, "This endpoint speaks WebSocket only.").ExecuteAsync(context);
            return;
        }

        long? taskFilter = null;
        if (context.Request.Query.TryGetValue("task_id", out var taskIdText))
        {
            if (!long.TryParse(taskIdText, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                await Api.Invalid(context, new Validation().Add("task_id", "must be a task id (a whole number)")).ExecuteAsync(context);
                return;
            }

            taskFilter = parsed;
            await using var db = await dbContexts.CreateDbContextAsync(cancellationToken);
            if (!await Ownership.VisibleTasks(db, context.User).AnyAsync(t => t.Id == parsed, cancellationToken))
            {
                await Api.NotFound(context, "Task", parsed).ExecuteAsync(context);
                return;
            }
        }

        var visibility = new TaskVisibility(context.User, dbContexts, timeProvider);

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        using var closed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var live = hub.Subscribe(closed.Token);

        // Read (and ignore) client frames so that a close from the client ends the stream.
        var reader = Task.Run(async () =>
        {
            var buffer = new byte[1024];
            try
            {
                while (socket.State == WebSocketState.Open)
                {
                    var result = await socket.ReceiveAsync(buffer, closed.Token);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
            {
            }
            finally
            {
                await closed.CancelAsync();
            }
        }, CancellationToken.None);

        try
        {
            await SendAsync(socket, new { type = "connected", data = new { task_id = taskFilter } }, closed.Token);
            var batch = new List<TaskEvent>();
            while (await live.WaitToReadAsync(closed.Token))
            {
                batch.Clear();
                while (batch.Count < 500 && live.TryRead(out var ev))
                {
                    if (taskFilter is null || ev.TaskId == taskFilter)
                    {
                        batch.Add(ev);
                    }
                }

                // A non-admin receives only the events of tasks they may see (one query per batch of new task ids).
                foreach (var ev in await visibility.FilterAsync(batch, closed.Token))
                {
                    await SendAsync(socket, EventMessage.From(ev), closed.Token);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
        }

        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            try
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
            }
            catch (WebSocketException)
            {
            }
        }

        await reader;

    }

    private static Task SendAsync(WebSocket socket, object message, CancellationToken cancellationToken) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(message, JsonDefaults.Options)), WebSocketMessageType.Text, true, cancellationToken);
}
