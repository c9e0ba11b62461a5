using Microsoft.EntityFrameworkCore;
using Npgsql;
using Polly;
using Polly.Retry;

namespace DevOrchestrator.Data;

/// <summary>
/// Database errors that go away by themselves — too many clients (53300), the server or an administrator ending the
/// connection (57P01–57P03, <c>pg_terminate_backend</c>), a lost or reset connection (08xxx, socket errors),
/// serialization failures and deadlocks (40001, 40P01), a busy SQLite file — and the retry that units of work which are
/// safe to repeat (a claim, a lease renewal, the record of a run's end) go through.
/// </summary>
public static class TransientDatabaseErrors
{
    private static readonly HashSet<string> s_transientStates =
    [
        PostgresErrorCodes.TooManyConnections, // 53300
        PostgresErrorCodes.AdminShutdown, // 57P01
        PostgresErrorCodes.CrashShutdown, // 57P02
        PostgresErrorCodes.CannotConnectNow, // 57P03
        PostgresErrorCodes.SerializationFailure, // 40001
        PostgresErrorCodes.DeadlockDetected, // 40P01
        PostgresErrorCodes.ConnectionException, // 08000
        PostgresErrorCodes.ConnectionDoesNotExist, // 08003
        PostgresErrorCodes.ConnectionFailure, // 08006
        PostgresErrorCodes.SqlClientUnableToEstablishSqlConnection, // 08001
        PostgresErrorCodes.SqlServerRejectedEstablishmentOfSqlConnection, // 08004
        PostgresErrorCodes.InsufficientResources, // 53000
        PostgresErrorCodes.OutOfMemory, // 53200
    ];

    /// <summary>True for a database error worth retrying (looks through EF's wrappers); never for other errors.</summary>
    public static bool IsTransient(Exception? exception)
    {
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            switch (ex)
            {
                case PostgresException pg:
                    return s_transientStates.Contains(pg.SqlState);
                case NpgsqlException { IsTransient: true }: // Npgsql wraps socket errors, resets and time-outs in these
                case Microsoft.Data.Sqlite.SqliteException { SqliteErrorCode: 5 or 6 }: // SQLITE_BUSY, SQLITE_LOCKED
                    return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Retries with exponential backoff and jitter (0.1 s … 5 s, six retries). Only for units of work whose repetition
    /// is harmless. Built once: a pipeline is thread-safe and these run on every task's path.
    /// </summary>
    public static ResiliencePipeline Retry { get; } = Build(6);

    /// <summary>The same, twenty retries (about a minute and a half): for recording a run's end, whose loss costs a whole re-run.</summary>
    public static ResiliencePipeline RetryLong { get; } = Build(20);

    private static ResiliencePipeline Build(int attempts) =>
        new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
                MaxRetryAttempts = attempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(100),
                MaxDelay = TimeSpan.FromSeconds(5),
            })
            .Build();

    /// <summary>
    /// The DbUpdateException of a unique key, as opposed to a transient failure of the same save or another constraint
    /// (SQLite reports every constraint as code 19; its extended codes 2067 and 1555 are the unique and primary keys).
    /// </summary>
    public static bool IsUniqueViolation(DbUpdateException exception) =>
        exception.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } or
            Microsoft.Data.Sqlite.SqliteException { SqliteErrorCode: 19, SqliteExtendedErrorCode: 2067 or 1555 };
}
