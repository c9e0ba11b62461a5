using DevOrchestrator.Data;
using DevOrchestrator.Features.Events;
using DevOrchestrator.Hosting;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace DevOrchestrator.IntegrationTests.Events;

/// <summary>
/// On PostgreSQL an event committed by another process wakes the hub through the events table's trigger (NOTIFY) and
/// <see cref="EventNotificationListener"/>, not through its poll: the hub here runs on a clock that never moves, so it
/// never polls, and the events are inserted on a connection of their own (as a worker process would commit them).
/// </summary>
public sealed class EventNotificationTests
{
    [Fact]
    public async Task An_event_committed_elsewhere_wakes_the_hub_without_a_poll_also_after_the_listen_connection_was_killed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(Db.Postgres, ServiceRole.Worker, cancellationToken: ct); // no listener of its own
        var databaseUrl = service.State.DatabaseUrl!;
        var dbContexts = service.Services.GetRequiredService<IDbContextFactory<AppDbContext>>();
        var signal = new EventSignal();
        var frozen = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var hub = new EventHub(dbContexts, signal, frozen, NullLogger<EventHub>.Instance);
        using var listener = new EventNotificationListener(Options.Create(new DatabaseOptions { DatabaseUrl = databaseUrl }), signal, TimeProvider.System, NullLogger<EventNotificationListener>.Instance);
        using var unsubscribe = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var events = hub.Subscribe(unsubscribe.Token);
        await hub.StartAsync(ct);
        await listener.StartAsync(ct);
        await using var elsewhere = new NpgsqlConnection(DatabaseUrls.ToNpgsqlConnectionString(databaseUrl));
        await elsewhere.OpenAsync(ct);
        await WaitForListenerAsync(elsewhere, ct);

        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        wait.CancelAfter(TimeSpan.FromSeconds(60)); // a hang guard, not a latency bound: without a notification nothing ever comes
        var first = await InsertEventAsync(elsewhere, "first", ct);
        Assert.Equal(first, (await events.ReadAsync(wait.Token)).Id);

        // Two events in one transaction: one notification, both events, in id order.
        long second, third;
        await using (var transaction = await elsewhere.BeginTransactionAsync(ct))
        {
            second = await InsertEventAsync(elsewhere, "second", ct);
            third = await InsertEventAsync(elsewhere, "third", ct);
            await transaction.CommitAsync(ct);
        }

        Assert.Equal(second, (await events.ReadAsync(wait.Token)).Id);
        Assert.Equal(third, (await events.ReadAsync(wait.Token)).Id);

        // A rolled-back insert notifies nobody and streams nothing.
        await using (var transaction = await elsewhere.BeginTransactionAsync(ct))
        {
            await InsertEventAsync(elsewhere, "rolled back", ct);
            await transaction.RollbackAsync(ct);
        }

        // The LISTEN connection dies (a PostgreSQL restart, a proxy timeout): the listener reconnects with backoff and
        // the next commit wakes the hub again.
        await using (var kill = new NpgsqlCommand("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'devorch-listen-events'", elsewhere))
        {
            await kill.ExecuteNonQueryAsync(ct);
        }

        await WaitForListenerAsync(elsewhere, ct);
        var afterReconnect = await InsertEventAsync(elsewhere, "after reconnect", ct);
        Assert.Equal(afterReconnect, (await events.ReadAsync(wait.Token)).Id);
        Assert.False(events.TryRead(out var extra), $"unexpected event {extra?.Id}");

        await listener.StopAsync(CancellationToken.None);
        await hub.StopAsync(CancellationToken.None);
    }

    private static async Task<long> InsertEventAsync(NpgsqlConnection connection, string message, CancellationToken ct)
    {
        await using var insert = new NpgsqlCommand("INSERT INTO events (task_id, type, payload, created_at) VALUES (NULL, 'system.alert', @payload, now()) RETURNING id", connection);
        insert.Parameters.AddWithValue("payload", System.Text.Json.JsonSerializer.Serialize(new { message }));
        return (long)(await insert.ExecuteScalarAsync(ct))!;
    }

    /// <summary>Waits until the listener's session is (again) connected and idle in its LISTEN.</summary>
    private static async Task WaitForListenerAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        var listening = await HttpJson.EventuallyAsync(async () =>
        {
            await using var count = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'devorch-listen-events' AND query LIKE 'LISTEN%'", connection);
            return (long)(await count.ExecuteScalarAsync(ct))! > 0;
        }, found => found, TimeSpan.FromSeconds(60));
        Assert.True(listening, "the listener's session is connected");
    }
}
