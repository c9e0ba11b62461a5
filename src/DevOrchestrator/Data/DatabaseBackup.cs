using System.Diagnostics;
using DevOrchestrator.Hosting;
using Microsoft.Data.Sqlite;

namespace DevOrchestrator.Data;

/// <summary>
/// <c>devorch db backup</c> and <c>devorch db restore</c>: SQLite through its online backup API (a consistent copy while
/// the service writes), PostgreSQL through <c>pg_dump -Fc</c> and <c>pg_restore --clean --if-exists</c> in one
/// transaction. The password of <c>DATABASE_URL</c> goes to the child process as <c>PGPASSWORD</c>, never on its
/// command line or into any output. See docs/deployment/operations.md.
/// </summary>
public static class DatabaseBackup
{
    private static readonly byte[] s_sqliteHeader = "SQLite format 3\0"u8.ToArray();
    private static readonly byte[] s_pgDumpHeader = "PGDMP"u8.ToArray();

    /// <summary><c>devorch-20261207T004500Z.sqlite</c> or <c>….dump</c>, in UTC.</summary>
    public static string DefaultFileName(DatabaseOptions settings, DateTimeOffset now) =>
        $"devorch-{now.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}.{Extension(settings)}";

    public static string Extension(DatabaseOptions settings) => settings.UsesPostgres ? "dump" : "sqlite";

    /// <summary>Writes the backup to <paramref name="output"/> (first as <c>OUTPUT.partial</c>, renamed when complete); returns its size in bytes.</summary>
    public static async Task<long> BackupAsync(DatabaseOptions settings, string output, CancellationToken cancellationToken)
    {
        var target = Path.GetFullPath(output);
        if (File.Exists(target) || Directory.Exists(target))
        {
            throw new BackupException($"--output: {target} already exists; choose a new file name.", Cli.ExitCodes.Usage);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var partial = target + ".partial";
        File.Delete(partial);
        try
        {
            if (settings.UsesPostgres)
            {
                await RunPostgresToolAsync("pg_dump", settings, ["--format=custom", "--file", partial], cancellationToken);
            }
            else
            {
                BackupSqlite(settings.SqlitePath, partial);
            }

            File.Move(partial, target);
        }
        finally
        {
            File.Delete(partial);
        }

        return new FileInfo(target).Length;
    }

    /// <summary>Replaces the database's contents with the backup in <paramref name="file"/>.</summary>
    public static async Task RestoreAsync(DatabaseOptions settings, string file, CancellationToken cancellationToken)
    {
        var source = Path.GetFullPath(file);
        if (!File.Exists(source))
        {
            throw new BackupException($"FILE: {source} does not exist.", Cli.ExitCodes.Usage);
        }

        var kind = DetectKind(source);
        if (kind is null)
        {
            throw new BackupException($"FILE: {source} is neither a SQLite database nor a pg_dump custom-format archive (made by 'devorch db backup').", Cli.ExitCodes.Usage);
        }

        if (kind == "postgresql" && !settings.UsesPostgres)
        {
            throw new BackupException($"FILE: {source} is a PostgreSQL backup, but DATABASE_URL is not a postgresql:// URL (the database is SQLite at {settings.SqlitePath}).", Cli.ExitCodes.Usage);
        }

        if (kind == "sqlite" && settings.UsesPostgres)
        {
            throw new BackupException($"FILE: {source} is a SQLite backup, but DATABASE_URL is a PostgreSQL database ({Describe(settings)}).", Cli.ExitCodes.Usage);
        }

        if (settings.UsesPostgres)
        {
            await RunPostgresToolAsync("pg_restore", settings, ["--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error", source], cancellationToken);
        }
        else
        {
            RestoreSqlite(source, settings.SqlitePath);
        }
    }

    /// <summary><c>sqlite /path/devorch.db</c> or <c>postgresql host:5432/db (user u)</c>; never the password.</summary>
    public static string Describe(DatabaseOptions settings)
    {
        if (!settings.UsesPostgres)
        {
            return $"sqlite {settings.SqlitePath}";
        }

        var builder = new Npgsql.NpgsqlConnectionStringBuilder(DatabaseUrls.ToNpgsqlConnectionString(settings.DatabaseUrl!));
        return $"postgresql {builder.Host}:{builder.Port}/{builder.Database} (user {builder.Username})";
    }

    private static void BackupSqlite(string databasePath, string destinationPath)
    {
        if (!File.Exists(databasePath))
        {
            throw new BackupException($"There is no SQLite database at {databasePath} (DATABASE_URL, or DATA_DIR/devorch.db): nothing to back up.", Cli.ExitCodes.Failure);
        }

        using (var source = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Mode = SqliteOpenMode.ReadWrite, Pooling = false, DefaultTimeout = 30 }.ToString()))
        using (var destination = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = destinationPath, Pooling = false }.ToString()))
        {
            source.Open();
            destination.Open();
            // One step over every page under a read transaction: in WAL mode the service keeps writing meanwhile.
            source.BackupDatabase(destination);
            // A self-contained file (no -wal/-shm beside it when read), whatever the live database's journal mode.
            using var journal = destination.CreateCommand();
            journal.CommandText = "PRAGMA journal_mode=DELETE";
            journal.ExecuteNonQuery();
        }
    }

    private static void RestoreSqlite(string backupPath, string databasePath)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(databasePath)!);
        using var source = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = backupPath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        source.Open();
        using (var check = source.CreateCommand())
        {
            check.CommandText = "PRAGMA integrity_check";
            var result = check.ExecuteScalar() as string;
            if (result != "ok")
            {
                throw new BackupException($"FILE: {backupPath} fails SQLite's integrity check ({result}); the database was not changed.", Cli.ExitCodes.Failure);
            }

            check.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '__ef_migrations_history'";
            if (Convert.ToInt64(check.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 0)
            {
                throw new BackupException($"FILE: {backupPath} is a SQLite database but not a DevOrchestrator one (no __ef_migrations_history table); the database was not changed.", Cli.ExitCodes.Usage);
            }
        }

        using var destination = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false, DefaultTimeout = 30 }.ToString());
        destination.Open();
        using (var busy = destination.CreateCommand())
        {
            busy.CommandText = "PRAGMA busy_timeout=30000";
            busy.ExecuteNonQuery();
        }

        // The destination is locked for the copy and its pages replaced as one transaction.
        source.BackupDatabase(destination);
        using var journal = destination.CreateCommand();
        journal.CommandText = "PRAGMA journal_mode=WAL";
        journal.ExecuteNonQuery();
    }

    private static string? DetectKind(string path)
    {
        Span<byte> header = stackalloc byte[16];
        using (var stream = File.OpenRead(path))
        {
            header = header[..stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false)];
        }

        return header.StartsWith(s_sqliteHeader) ? "sqlite" : header.StartsWith(s_pgDumpHeader) ? "postgresql" : null;
    }

    /// <summary>Runs pg_dump or pg_restore against DATABASE_URL's database: host, port, user and database as arguments, the password and TLS mode in the environment.</summary>
    private static async Task RunPostgresToolAsync(string tool, DatabaseOptions settings, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var executable = FindOnPath(tool) ?? throw new BackupException(
            $"{tool} was not found on PATH: install the PostgreSQL client tools of the server's major version or newer (Debian/Ubuntu: apt-get install postgresql-client) or add their directory to PATH.",
            Cli.ExitCodes.Failure);
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(DatabaseUrls.ToNpgsqlConnectionString(settings.DatabaseUrl!));
        var start = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in (string[])["--no-password", "--host", builder.Host!, "--port", $"{builder.Port}", "--dbname", builder.Database!])
        {
            start.ArgumentList.Add(argument);
        }

        if (!string.IsNullOrEmpty(builder.Username))
        {
            start.ArgumentList.Add("--username");
            start.ArgumentList.Add(builder.Username);
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("PGPASSWORD");
        if (!string.IsNullOrEmpty(builder.Password))
        {
            start.Environment["PGPASSWORD"] = builder.Password;
        }

        if (settings.DatabaseUrl!.Contains("sslmode=", StringComparison.OrdinalIgnoreCase))
        {
            start.Environment["PGSSLMODE"] = builder.SslMode switch
            {
                Npgsql.SslMode.VerifyCA => "verify-ca",
                Npgsql.SslMode.VerifyFull => "verify-full",
                var mode => mode.ToString().ToLowerInvariant(),
            };
        }

        start.Environment["PGCONNECT_TIMEOUT"] = $"{(builder.Timeout > 0 ? builder.Timeout : 5)}";

        using var process = Process.Start(start) ?? throw new BackupException($"{tool} could not be started.", Cli.ExitCodes.Failure);
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        await stdout;
        var errors = (await stderr).Trim();
        if (process.ExitCode != 0)
        {
            var lines = errors.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var detail = string.Join(" | ", lines.TakeLast(5));
            throw new BackupException($"{tool} failed (exit {process.ExitCode}) on {Describe(settings)}: {detail}", Cli.ExitCodes.Failure);
        }
    }

    private static string? FindOnPath(string name)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
