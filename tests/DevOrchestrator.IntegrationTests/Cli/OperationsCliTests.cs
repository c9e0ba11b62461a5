using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Features.Plugins;
using DevOrchestrator.Hosting;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace DevOrchestrator.IntegrationTests.Cli;

/// <summary>
/// The operator commands run as real processes: <c>devorch health</c>, <c>devorch db backup|restore|status</c>, and
/// <c>deploy/scripts/backup.sh</c> and <c>restore.sh</c> calling the real <c>devorch</c> (docs/deployment/operations.md).
/// </summary>
public sealed class OperationsCliTests
{
    private const string EncryptionKey = "the encryption key of the backup tests, long enough";
    private const string StoredGitHubToken = "ghp_stored_before_the_backup_0123456789";

    private sealed record Result(int ExitCode, string Stdout, string Stderr);

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Backup_then_wipe_then_restore_brings_back_every_row_and_the_encrypted_plugin_configuration(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        var settings = new Dictionary<string, string?> { ["ENCRYPTION_KEY"] = EncryptionKey };
        var service = await ServiceUnderTest.StartAsync(db, settings: settings, cancellationToken: ct);
        var state = service.State;
        ServiceUnderTest? restored = null;
        try
        {
            // Users, projects, tasks, cost entries, the month's budget and a reservation; a task made through the API
            // (with its events); plugin configuration stored encrypted through the API.
            await Api.CostsApiTests.SeedAsync(service, spentMicros: 12_000_000, reservedMicros: 500_000, ct);
            using var admin = await service.ClientForNewUserAsync(Roles.Admin, ct);
            using (var created = await admin.PostJsonAsync("/api/v1/tasks", new { title = "made before the backup: ünïcödé & <tags>" }))
            {
                Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            }

            using (var put = await admin.PutAsJsonAsync("/api/v1/plugins/version_control/github/config", new Dictionary<string, object?> { ["GITHUB_TOKEN"] = StoredGitHubToken }, ct))
            {
                Assert.True(put.StatusCode == HttpStatusCode.OK, (await put.ReadJsonAsync()).ToJsonString());
            }

            var before = await SnapshotAsync(state, ct);
            Assert.True(before.Counts["events"] > 0, "the task made through the API has events");
            Assert.True(before.Counts["cost_entries"] > 0 && before.Counts["plugin_configs"] == 1 && before.Counts["users"] >= 3);

            // Backed up by the script while the service runs.
            var env = CliEnvironment(state);
            var backups = Path.Combine(state.Root, "backups");
            var backup = await RunAsync("bash", [Script("backup.sh")], new Dictionary<string, string>(env) { ["BACKUP_DIR"] = backups, ["RETENTION_DAYS"] = "7" }, ct);
            Assert.True(backup.ExitCode == 0, backup.Stdout + backup.Stderr);
            var file = Assert.Single(Directory.GetFiles(backups, "devorch-*"));
            Assert.EndsWith(db == Db.Postgres ? ".dump" : ".sqlite", file, StringComparison.Ordinal);
            Assert.Contains($"Backed up {(db == Db.Postgres ? "postgresql" : "sqlite")}", backup.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain("postgres:postgres@", backup.Stdout + backup.Stderr, StringComparison.Ordinal);

            service.KeepStateOnDispose = true;
            await service.DisposeAsync();
            await WipeAsync(state);

            var empty = await DevorchAsync(env, ct, "db", "status");
            Assert.True(empty.ExitCode == 0, empty.Stderr);
            Assert.Contains("Applied migrations: 0", empty.Stdout, StringComparison.Ordinal);

            var restore = await RunAsync("bash", [Script("restore.sh"), file], env, ct);
            Assert.True(restore.ExitCode == 0, restore.Stdout + restore.Stderr);
            Assert.Contains("Restored", restore.Stdout, StringComparison.Ordinal);

            var status = await DevorchAsync(env, ct, "db", "status");
            Assert.True(status.ExitCode == 0, status.Stderr);
            Assert.Contains("Pending migrations: none", status.Stdout, StringComparison.Ordinal);
            Assert.Contains(db == Db.Postgres ? $"Database: postgresql 127.0.0.1:5432/{new Uri(state.DatabaseUrl!).AbsolutePath.Trim('/')}" : "Database: sqlite ", status.Stdout, StringComparison.Ordinal);

            // Every row is back, and a service with the same ENCRYPTION_KEY reads the stored configuration.
            restored = await ServiceUnderTest.StartAsync(db, settings: settings, shareWith: service, ownState: true, cancellationToken: ct);
            var after = await SnapshotAsync(state, ct);
            Assert.Equal(before.Counts, after.Counts);
            Assert.Equal(before.TaskTitles, after.TaskTitles);
            Assert.Equal(before.Emails, after.Emails);
            Assert.Equal(before.CostUsd, after.CostUsd);
            Assert.Equal(before.EncryptedPluginValues, after.EncryptedPluginValues);
            var decrypted = restored.Services.GetRequiredService<ConfigEncryption>().Decrypt(after.EncryptedPluginValues);
            Assert.Contains(StoredGitHubToken, decrypted, StringComparison.Ordinal);
            using var restoredAdmin = await restored.ClientForNewUserAsync(Roles.Admin, ct);
            using var config = await restoredAdmin.GetAsync("/api/v1/plugins/version_control/github/config", ct);
            var data = (await config.ReadJsonAsync())["data"]!;
            Assert.True((bool)data["configured"]!, data.ToJsonString());
            Assert.Equal("stored", (string?)data["settings"]!.AsArray().Single(s => (string?)s!["key"] == "GITHUB_TOKEN")!["source"]);
        }
        finally
        {
            if (restored is not null)
            {
                await restored.DisposeAsync();
            }
            else
            {
                service.KeepStateOnDispose = false;
                await service.DisposeAsync();
            }
        }
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task A_backup_taken_while_transactions_commit_holds_each_of_them_whole_or_not_at_all(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        var root = Directory.CreateTempSubdirectory("devorch-ops-").FullName;
        var url = db == Db.Postgres ? await TestDatabases.CreatePostgresDatabaseAsync(ct) : null;
        var state = new ServiceUnderTest.SharedState(db, root, url, "unused");
        try
        {
            var env = CliEnvironment(state);
            var migrate = await DevorchAsync(env, ct, "db", "migrate");
            Assert.True(migrate.ExitCode == 0, migrate.Stderr);

            // A writer commits two projects per transaction, without pause, before, during and after the backup.
            using var stop = new CancellationTokenSource();
            var committed = 0;
            var writer = Task.Run(async () =>
            {
                await using var writes = state.OpenDb();
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var now = DateTimeOffset.UtcNow;
                    writes.Projects.AddRange(
                        new Project { Name = $"pair {i} a", CreatedAt = now, UpdatedAt = now },
                        new Project { Name = $"pair {i} b", CreatedAt = now, UpdatedAt = now });
                    await writes.SaveChangesAsync(CancellationToken.None);
                    writes.ChangeTracker.Clear();
                    Interlocked.Increment(ref committed);
                }
            }, CancellationToken.None);
            while (Volatile.Read(ref committed) < 20 && !writer.IsCompleted)
            {
                await Task.Delay(10, ct);
            }

            var file = Path.Combine(root, "during-writes.backup");
            var beforeBackup = Volatile.Read(ref committed);
            var backup = await DevorchAsync(env, ct, "db", "backup", "--output", file);
            var duringBackup = Volatile.Read(ref committed);
            await stop.CancelAsync();
            await writer;
            Assert.True(backup.ExitCode == 0, backup.Stderr);
            Assert.True(duringBackup > beforeBackup, "the writer committed while the backup ran");
            TestContext.Current.SendDiagnosticMessage($"{db}: {beforeBackup} pairs committed before the backup, {duringBackup} when it ended");

            await WipeAsync(state);
            var restore = await DevorchAsync(env, ct, "db", "restore", file);
            Assert.True(restore.ExitCode == 0, restore.Stderr);

            await using var check = state.OpenDb();
            var names = await check.Projects.Select(p => p.Name).ToListAsync(ct);
            Assert.True(names.Count >= 40, $"{names.Count} projects restored; 20 pairs were committed before the backup began");
            Assert.True(names.Count <= 2 * duringBackup, $"{names.Count} projects restored; {duringBackup} pairs were committed when the backup ended");
            var pairs = names.GroupBy(n => n[..^2]).ToList();
            Assert.All(pairs, pair => Assert.Equal(2, pair.Count()));
            TestContext.Current.SendDiagnosticMessage($"{db}: {pairs.Count} whole pairs restored");
        }
        finally
        {
            if (url is not null)
            {
                await TestDatabases.DropPostgresDatabaseAsync(url);
            }

            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Restore_refuses_a_missing_foreign_or_mismatched_file_and_backup_refuses_to_overwrite()
    {
        var ct = TestContext.Current.CancellationToken;
        var root = Directory.CreateTempSubdirectory("devorch-ops-").FullName;
        try
        {
            var env = new Dictionary<string, string> { ["DATA_DIR"] = Path.Combine(root, "data") };
            Assert.Equal(0, (await DevorchAsync(env, ct, "db", "migrate")).ExitCode);
            var file = Path.Combine(root, "one.sqlite");
            Assert.Equal(0, (await DevorchAsync(env, ct, "db", "backup", "--output", file)).ExitCode);

            var again = await DevorchAsync(env, ct, "db", "backup", "--output", file);
            Assert.Equal(2, again.ExitCode);
            Assert.Contains("--output", again.Stderr, StringComparison.Ordinal);

            var missing = await DevorchAsync(env, ct, "db", "restore", Path.Combine(root, "nope.sqlite"));
            Assert.Equal(2, missing.ExitCode);
            Assert.Contains("does not exist", missing.Stderr, StringComparison.Ordinal);

            var text = Path.Combine(root, "notes.txt");
            await File.WriteAllTextAsync(text, "not a backup", ct);
            var foreign = await DevorchAsync(env, ct, "db", "restore", text);
            Assert.Equal(2, foreign.ExitCode);
            Assert.Contains("neither a SQLite database nor a pg_dump", foreign.Stderr, StringComparison.Ordinal);

            var dump = Path.Combine(root, "other.dump");
            await File.WriteAllTextAsync(dump, "PGDMP and more", ct);
            var mismatched = await DevorchAsync(env, ct, "db", "restore", dump);
            Assert.Equal(2, mismatched.ExitCode);
            Assert.Contains("PostgreSQL backup", mismatched.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", again.Stderr + missing.Stderr + foreign.Stderr + mismatched.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Backup_and_restore_on_postgres_name_the_missing_pg_dump_and_pg_restore()
    {
        var ct = TestContext.Current.CancellationToken;
        var url = await TestDatabases.CreatePostgresDatabaseAsync(ct);
        var root = Directory.CreateTempSubdirectory("devorch-ops-").FullName;
        try
        {
            // A PATH without the PostgreSQL client tools (dotnet itself is started by its full path).
            var env = new Dictionary<string, string> { ["DATA_DIR"] = Path.Combine(root, "data"), ["DATABASE_URL"] = url, ["PATH"] = root };
            var backup = await DevorchAsync(env, ct, "db", "backup", "--output", Path.Combine(root, "b.dump"));
            Assert.Equal(1, backup.ExitCode);
            Assert.StartsWith("pg_dump was not found on PATH", backup.Stderr, StringComparison.Ordinal);
            Assert.Single(backup.Stderr.Split('\n'));
            Assert.False(File.Exists(Path.Combine(root, "b.dump")));
            Assert.False(File.Exists(Path.Combine(root, "b.dump.partial")));

            var dump = Path.Combine(root, "a.dump");
            await File.WriteAllTextAsync(dump, "PGDMP", ct);
            var restore = await DevorchAsync(env, ct, "db", "restore", dump);
            Assert.Equal(1, restore.ExitCode);
            Assert.StartsWith("pg_restore was not found on PATH", restore.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await TestDatabases.DropPostgresDatabaseAsync(url);
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Health_exits_0_for_a_healthy_service_and_1_for_an_unhealthy_one_or_a_closed_port()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(Db.Sqlite, cancellationToken: ct);
        var healthy = await DevorchAsync(new Dictionary<string, string>(), ct, "health", "--url", service.Address.ToString());
        Assert.True(healthy.ExitCode == 0, healthy.Stderr);
        Assert.Contains($"{service.Address}health: healthy (HTTP 200", healthy.Stdout, StringComparison.Ordinal);
        Assert.Contains("  database: healthy", healthy.Stdout, StringComparison.Ordinal);

        // Without --url: the address devorch serve listens on (URLS), a wildcard host asked on loopback.
        var fromUrls = await DevorchAsync(new Dictionary<string, string> { ["URLS"] = $"http://0.0.0.0:{service.Address.Port}" }, ct, "health");
        Assert.True(fromUrls.ExitCode == 0, fromUrls.Stderr);
        Assert.Contains($"http://127.0.0.1:{service.Address.Port}/health: healthy", fromUrls.Stdout, StringComparison.Ordinal);

        // A probe route given in full: /health/ready answers the envelope.
        var ready = await DevorchAsync(new Dictionary<string, string>(), ct, "health", "--url", $"{service.Address}health/ready");
        Assert.True(ready.ExitCode == 0, ready.Stderr);
        Assert.Equal($"{service.Address}health/ready: ready (HTTP 200)", ready.Stdout);

        // Migrations not applied: /health answers 503 unhealthy, /health/ready 503 with the reason.
        await using var unmigrated = await ServiceUnderTest.StartWithoutMigrationAsync(new Dictionary<string, string?>(), ServiceRole.All, ct);
        var unhealthy = await DevorchAsync(new Dictionary<string, string>(), ct, "health", "--url", unmigrated.Address.ToString());
        Assert.Equal(1, unhealthy.ExitCode);
        Assert.Contains("health: unhealthy (HTTP 503", unhealthy.Stdout, StringComparison.Ordinal);
        Assert.Contains("database: unhealthy: ", unhealthy.Stdout, StringComparison.Ordinal);
        var notReady = await DevorchAsync(new Dictionary<string, string>(), ct, "health", "--url", $"{unmigrated.Address}health/ready");
        Assert.Equal(1, notReady.ExitCode);
        Assert.StartsWith($"{unmigrated.Address}health/ready: HTTP 503: Not ready: database: ", notReady.Stderr, StringComparison.Ordinal);

        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var closedPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var closed = await DevorchAsync(new Dictionary<string, string>(), ct, "health", "--url", $"http://127.0.0.1:{closedPort}");
        Assert.Equal(1, closed.ExitCode);
        Assert.Equal($"http://127.0.0.1:{closedPort}/health: unreachable (Connection refused)", closed.Stderr);
        Assert.Empty(closed.Stdout);

        var bad = await DevorchAsync(new Dictionary<string, string>(), ct, "health", "--url", "ftp://example.com");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--url", bad.Stderr, StringComparison.Ordinal);
    }

    private sealed record Snapshot(Dictionary<string, long> Counts, List<string> TaskTitles, List<string> Emails, List<decimal> CostUsd, string EncryptedPluginValues);

    /// <summary>The row count of every table of the model (and the migrations history), and a few values.</summary>
    private static async Task<Snapshot> SnapshotAsync(ServiceUnderTest.SharedState state, CancellationToken ct)
    {
        await using var db = state.OpenDb();
        var tables = db.Model.GetEntityTypes().Select(e => e.GetTableName()).OfType<string>().Append("__ef_migrations_history").Distinct().Order(StringComparer.Ordinal).ToList();
        var counts = new Dictionary<string, long>();
        var connection = db.Database.GetDbConnection();
        await connection.OpenAsync(ct);
        foreach (var table in tables)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT COUNT(*) FROM \"{table}\"";
            counts[table] = Convert.ToInt64(await command.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
        }

        return new Snapshot(
            counts,
            await db.Tasks.OrderBy(t => t.Id).Select(t => t.Title).ToListAsync(ct),
            await db.Users.OrderBy(u => u.Id).Select(u => u.Email).ToListAsync(ct),
            (await db.CostEntries.OrderBy(c => c.Id).ToListAsync(ct)).Select(c => c.Usd).ToList(),
            (await db.PluginConfigs.SingleAsync(ct)).EncryptedValues);
    }

    /// <summary>PostgreSQL: the database dropped and created again empty. SQLite: the file (and its WAL) deleted.</summary>
    private static async Task WipeAsync(ServiceUnderTest.SharedState state)
    {
        if (state.DatabaseUrl is { } url)
        {
            await TestDatabases.DropPostgresDatabaseAsync(url);
            await using var connection = new NpgsqlConnection(DatabaseUrls.ToNpgsqlConnectionString(TestDatabases.AdminUrl));
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {new Uri(url).AbsolutePath.Trim('/')}", connection);
            await command.ExecuteNonQueryAsync();
            return;
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            File.Delete(Path.Combine(state.DataDir, "devorch.db" + suffix));
        }

        Assert.False(File.Exists(Path.Combine(state.DataDir, "devorch.db")));
    }

    private static Dictionary<string, string> CliEnvironment(ServiceUnderTest.SharedState state) => new()
    {
        ["DATA_DIR"] = state.DataDir,
        ["DATABASE_URL"] = state.DatabaseUrl ?? Path.Combine(state.DataDir, "devorch.db"),
        ["DEVORCH"] = $"{DotnetPath()} {Path.Combine(AppContext.BaseDirectory, "devorch.dll")}",
    };

    /// <summary>deploy/scripts/NAME of this repository.</summary>
    private static string Script(string name)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "deploy", "scripts", name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"deploy/scripts/{name} not found above {AppContext.BaseDirectory}");
    }

    private static string DotnetPath() => Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";

    private static Task<Result> DevorchAsync(IDictionary<string, string> environment, CancellationToken ct, params string[] args) =>
        WaitAsync(DevorchProcess.StartInfo(args, environment.Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)), Path.GetTempPath()), ct);

    private static Task<Result> RunAsync(string program, IEnumerable<string> args, IDictionary<string, string> environment, CancellationToken ct)
    {
        var start = DevorchProcess.StartInfo([], environment.Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)), Path.GetTempPath());
        start.FileName = program;
        start.ArgumentList.Clear();
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return WaitAsync(start, ct);
    }

    /// <summary>Runs a process to its end; one still running after two minutes (a hang, not slowness) fails the test.</summary>
    private static async Task<Result> WaitAsync(ProcessStartInfo start, CancellationToken ct)
    {
        if (start.FileName == "dotnet")
        {
            // Started by its full path, so that a test can give the process a PATH without dotnet (or pg_dump).
            start.FileName = DotnetPath();
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{start.FileName} {string.Join(' ', start.ArgumentList)} did not exit within 2 minutes");
        }

        return new Result(process.ExitCode, (await stdout).Trim(), (await stderr).Trim());
    }
}
