using DevOrchestrator.Hosting;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Data;

/// <summary>Applies migrations: by <c>devorch db migrate</c>, and at start on the embedded SQLite default.</summary>
public static class DatabaseMigrator
{
    public static async Task<IReadOnlyList<string>> MigrateAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
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

    /// <summary>On SQLite (one process owns the file) migrate at start; on PostgreSQL leave it to <c>devorch db migrate</c>.</summary>
    public static async Task MigrateOnStartIfEmbeddedAsync(WebApplication app, CancellationToken cancellationToken)
    {
        var settings = app.Services.GetRequiredService<DevOrchestratorSettings>();
        if (!settings.UsesPostgres || app.Configuration.GetValue<bool>("DB_AUTO_MIGRATE"))
        {
            await MigrateAsync(app.Services, cancellationToken);
        }
    }
}
