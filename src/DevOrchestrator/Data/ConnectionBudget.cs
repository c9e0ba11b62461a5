using DevOrchestrator.Features.Tasks;
using DevOrchestrator.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DevOrchestrator.Data;

/// <summary>
/// At start on PostgreSQL, compares what this process may open — the data pool (<c>Maximum Pool Size</c> of
/// <c>DATABASE_URL</c>, Npgsql's default 100), the background jobs' pool (<see cref="TaskDispatch.JobsPoolSize"/>) and
/// one LISTEN connection per worker (queued tasks) and per API process (new events) — with the server's <c>max_connections</c> less its reserved slots, and says how
/// many such replicas fit. A budget that one process alone could exceed is a warning (53300 "too many clients" under
/// load); the figures are in docs/architecture.md. Never blocks the start: a failed check is logged and skipped.
/// </summary>
public sealed partial class ConnectionBudget(IOptions<DatabaseOptions> database, ServeOptions serve, ILogger<ConnectionBudget> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(DatabaseUrls.ToNpgsqlConnectionString(database.Value.DatabaseUrl!)) { Pooling = false, ApplicationName = "devorch-budget" };
            var dataPool = new NpgsqlConnectionStringBuilder(DatabaseUrls.ToNpgsqlConnectionString(database.Value.DatabaseUrl!)).MaxPoolSize;
            var perProcess = dataPool + TaskDispatch.JobsPoolSize + (serve.Role.RunsWorkers() ? 1 : 0) + (serve.Role.RunsApi() ? 1 : 0);
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync(stoppingToken);
            await using var command = new NpgsqlCommand(
                "SELECT current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int", connection);
            await using var reader = await command.ExecuteReaderAsync(stoppingToken);
            await reader.ReadAsync(stoppingToken);
            var max = reader.GetInt32(0);
            var reserved = reader.GetInt32(1);
            var usable = max - reserved;
            if (perProcess > usable)
            {
                LogOverBudget(logger, perProcess, dataPool, TaskDispatch.JobsPoolSize, max, reserved);
            }
            else
            {
                LogBudget(logger, perProcess, dataPool, TaskDispatch.JobsPoolSize, max, reserved, usable / perProcess);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogCheckFailed(logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "PostgreSQL connection budget: this process may open {PerProcess} (data pool {DataPool}, jobs {JobsPool}, listeners); max_connections {Max} ({Reserved} reserved): {Replicas} such processes fit")]
    private static partial void LogBudget(ILogger logger, int perProcess, int dataPool, int jobsPool, int max, int reserved, int replicas);

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL connection budget exceeded: this process alone may open {PerProcess} connections (data pool {DataPool}, jobs {JobsPool}, listeners) but max_connections is {Max} ({Reserved} reserved). Lower 'Maximum Pool Size' in DATABASE_URL (e.g. ?maximum%20pool%20size=20) or raise max_connections, or expect 53300 errors under load")]
    private static partial void LogOverBudget(ILogger logger, int perProcess, int dataPool, int jobsPool, int max, int reserved);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not check the PostgreSQL connection budget")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception);
}
