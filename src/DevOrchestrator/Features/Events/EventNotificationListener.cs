using DevOrchestrator.Data;
using DevOrchestrator.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DevOrchestrator.Features.Events;

/// <summary>
/// On PostgreSQL, a trigger on <c>events</c> sends <c>NOTIFY devorch_events</c> when a transaction that inserted events
/// commits, whichever process wrote them (a worker, another API replica). Each process that serves event streams keeps
/// one connection that LISTENs and pulses <see cref="EventSignal"/>, so its <see cref="EventHub"/> reads the new rows at
/// once instead of at its next poll. The notification carries nothing: the events table stays the source of truth, and
/// the hub's poll is the fallback. When the connection breaks, it reconnects with backoff (the hub polls meanwhile) and
/// pulses once connected, so that nothing committed while it was away waits for a poll.
/// </summary>
public sealed partial class EventNotificationListener(IOptions<DatabaseOptions> database, EventSignal signal, TimeProvider timeProvider, ILogger<EventNotificationListener> logger)
    : BackgroundService
{
    public const string Channel = "devorch_events";

    private static readonly TimeSpan s_firstDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan s_maxDelay = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var connectionString = new NpgsqlConnectionStringBuilder(DatabaseUrls.ToNpgsqlConnectionString(database.Value.DatabaseUrl!))
        {
            ApplicationName = "devorch-listen-events",
            Pooling = false,
            KeepAlive = 15,
        }.ConnectionString;
        var delay = s_firstDelay;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(stoppingToken);
                connection.Notification += (_, _) => signal.Pulse();
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                if (delay > s_firstDelay)
                {
                    LogListening(logger);
                }

                delay = s_firstDelay;
                signal.Pulse();
                while (!stoppingToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogListenFailed(logger, ex, delay.TotalSeconds);
                try
                {
                    await Task.Delay(delay, timeProvider, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                delay = TimeSpan.FromSeconds(Math.Min(s_maxDelay.TotalSeconds, delay.TotalSeconds * 2));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening for new events failed; reconnecting in {DelaySeconds} s (event streams poll the database meanwhile)")]
    private static partial void LogListenFailed(ILogger logger, Exception exception, double delaySeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening for new events again")]
    private static partial void LogListening(ILogger logger);
}
