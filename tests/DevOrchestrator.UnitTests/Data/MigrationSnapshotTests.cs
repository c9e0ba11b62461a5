using DevOrchestrator.Data;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.UnitTests.Data;

/// <summary>
/// Each provider's migrations describe the model exactly (with the service's own conventions): an entity or column
/// changed without a migration, or a model snapshot that lost a change when two branches' migrations were merged,
/// fails here. No database is opened.
/// </summary>
public sealed class MigrationSnapshotTests
{
    [Fact]
    public void Sqlite_migrations_match_the_model()
    {
        var builder = new DbContextOptionsBuilder<SqliteAppDbContext>();
        DatabaseServiceCollectionExtensions.ConfigureSqlite(builder, "Data Source=:memory:");
        using var db = new SqliteAppDbContext(builder.Options);

        Assert.False(db.Database.HasPendingModelChanges(), "The SQLite model has changes no migration describes: add one (docs/architecture.md, 'Schema changes').");
    }

    [Fact]
    public void Postgres_migrations_match_the_model()
    {
        var builder = new DbContextOptionsBuilder<PostgresAppDbContext>();
        DatabaseServiceCollectionExtensions.ConfigurePostgres(builder, "Host=unused.invalid");
        using var db = new PostgresAppDbContext(builder.Options);

        Assert.False(db.Database.HasPendingModelChanges(), "The PostgreSQL model has changes no migration describes: add one (docs/architecture.md, 'Schema changes').");
    }
}
