using DevOrchestrator.Data;
using DevOrchestrator.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DevOrchestrator.Features.Tasks;

/// <summary>
/// On PostgreSQL, a trigger on <c>tasks</c> sends <c>NOTIFY devorch_tasks</c> whenever a row becomes <c>queued</c>
/// (delivered at commit, never for a rolled-back transaction). Each worker process keeps one connection that LISTENs
/// and pulses <see cref="TaskWakeup"/>. When the connection breaks, it reconnects with backoff and pulses once, so
/// that nothing queued meanwhile waits for the next poll.
/// </summary>
public sealed partial class TaskNotificationListener(IOptions<DatabaseOptions> database, TaskWakeup wakeup, TimeProvider timeProvider, ILogger<TaskNotificationListener> logger)
    : BackgroundService
{
    public const string Channel = "devorch_tasks";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var connectionString = new NpgsqlConnectionStringBuilder(DatabaseUrls.ToNpgsqlConnectionString(database.Value.DatabaseUrl!))
        {
            ApplicationName = "devorch-listen",
            Pooling = false,
            KeepAlive = 15,
        }.ConnectionString;
        var delay = TimeSpan.FromMilliseconds(250);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(stoppingToken);
                connection.Notification += (_, _) => wakeup.Pulse();
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                delay = TimeSpan.FromMilliseconds(250);
                wakeup.Pulse();
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

                delay = TimeSpan.FromSeconds(Math.Min(30, delay.TotalSeconds * 2));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening for queued tasks failed; reconnecting in {DelaySeconds} s (the dispatcher polls meanwhile)")]
    private static partial void LogListenFailed(ILogger logger, Exception exception, double delaySeconds);
}
