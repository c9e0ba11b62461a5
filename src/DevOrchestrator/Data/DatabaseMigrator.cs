using DevOrchestrator.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Data;

/// <summary>Applies migrations: by <c>devorch db migrate</c>, and at start on the embedded SQLite default.</summary>
public static class DatabaseMigrator
{
    public static async Task<IReadOnlyList<string>> MigrateAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        await using var db = services.GetRequiredService<IDbContextFactory<AppDbContext>>().CreateDbContext();
        using var fileLock = db.Database.IsSqlite() ? await LockSqliteFileAsync(db, cancellationToken) : null;
        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
        if (pending.Count > 0)
        {
            await db.Database.MigrateAsync(cancellationToken);
        }

        return pending;
    }

    /// <summary>
    /// Serializes migrations of one SQLite file across processes (the server starting while <c>devorch user create</c>
    /// runs next to it): an exclusive lock file beside the database.
    /// </summary>
    private static async Task<FileStream> LockSqliteFileAsync(AppDbContext db, CancellationToken cancellationToken)
    {
        var dataSource = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(db.Database.GetConnectionString()).DataSource;
        var lockPath = Path.GetFullPath(dataSource) + ".migrate.lock";
        while (true)
        {
            try
            {
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                await Task.Delay(100, cancellationToken);
            }
        }
    }

    /// <summary>
    /// Fails fast when <c>DATABASE_URL</c> names a PostgreSQL server that cannot be used: one connection attempt with a
    /// short connect timeout (5 s unless the URL sets <c>timeout</c>), outside EF's retries, so an unreachable host stops
    /// the start in seconds with one line naming the variable and the host — never the password. Called by the commands
    /// before the host is built (building it prepares the job storage, which has retries of its own), so synchronous.
    /// </summary>
    public static void EnsureReachable(DatabaseOptions settings)
    {
        if (!settings.UsesPostgres)
        {
            return;
        }

        var builder = new Npgsql.NpgsqlConnectionStringBuilder(DatabaseUrls.ToNpgsqlConnectionString(settings.DatabaseUrl!)) { Pooling = false };
        if (!settings.DatabaseUrl!.Contains("timeout=", StringComparison.OrdinalIgnoreCase))
        {
            builder.Timeout = 5;
        }

        var where = $"{builder.Host}:{builder.Port}";
        try
        {
            using var connection = new Npgsql.NpgsqlConnection(builder.ConnectionString);
            connection.Open();
        }
        catch (Npgsql.PostgresException ex) when (ex.SqlState is "28P01" or "28000")
        {
            throw new DatabaseUnreachableException($"DATABASE_URL: {where} refused user '{builder.Username}' ({ex.MessageText})");
        }
        catch (Npgsql.PostgresException ex) when (ex.SqlState == "3D000")
        {
            throw new DatabaseUnreachableException($"DATABASE_URL: database '{builder.Database}' does not exist on {where}");
        }
        catch (Npgsql.PostgresException ex)
        {
            throw new DatabaseUnreachableException($"DATABASE_URL: {where} answered {ex.SqlState}: {ex.MessageText}");
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or System.Net.Sockets.SocketException or TimeoutException or IOException)
        {
            var reason = ex.InnerException is TimeoutException || ex is TimeoutException || ex.Message.Contains("Timeout", StringComparison.OrdinalIgnoreCase)
                ? $"timeout after {builder.Timeout} s"
                : (ex.InnerException ?? ex).Message;
            throw new DatabaseUnreachableException($"DATABASE_URL: cannot connect to {where} ({reason})");
        }
    }

    /// <summary>On SQLite (one process owns the file) migrate at start; on PostgreSQL leave it to <c>devorch db migrate</c>.</summary>
    public static async Task MigrateOnStartIfEmbeddedAsync(WebApplication app, CancellationToken cancellationToken)
    {
        var database = app.Services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
        if (!database.UsesPostgres || app.Configuration.GetValue<bool>("DB_AUTO_MIGRATE"))
        {
            await MigrateAsync(app.Services, cancellationToken);
        }
    }
}
