using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using DevOrchestrator.Data;
using DevOrchestrator.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Cli;

/// <summary>
/// Operator commands (docs/deployment/operations.md): <c>devorch health</c> (the container's HEALTHCHECK: no curl in the
/// image), <c>devorch db backup|restore|status</c>.
/// </summary>
internal static class OperationsCommands
{
    public static Command Health()
    {
        var url = new Option<string?>("--url") { Description = "The service's base URL or health URL (default: from URLS, else http://127.0.0.1:8000; /health is appended to a bare base URL)" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for the answer", DefaultValueFactory = _ => 5 };
        var command = new Command("health", "Ask a running service for its health report; exit 0 healthy or degraded, 1 unhealthy or unreachable.") { url, timeout };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var seconds = parseResult.GetValue(timeout);
            if (seconds is < 1 or > 300)
            {
                await Console.Error.WriteLineAsync("--timeout must be between 1 and 300 seconds.");
                return ExitCodes.Usage;
            }

            var given = parseResult.GetValue(url);
            if (!TryHealthUrl(given ?? DefaultBaseUrl(), out var target))
            {
                await Console.Error.WriteLineAsync(given is null
                    ? $"URLS: cannot make a health URL of '{DefaultBaseUrl()}'; pass --url http://host:port."
                    : $"--url must be an http(s) URL (got '{given}').");
                return ExitCodes.Usage;
            }

            return await CheckHealthAsync(target, TimeSpan.FromSeconds(seconds), cancellationToken);
        });
        return command;
    }

    public static Command Backup()
    {
        var output = new Option<string?>("--output") { Description = "The backup file to write (default: devorch-<UTC timestamp>.sqlite or .dump in the current directory); must not exist" };
        var command = new Command("backup", "Back up the database: SQLite's online backup, or pg_dump -Fc for PostgreSQL (consistent while the service runs).") { output };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            await using var services = DevOrchestratorCli.BuildServices();
            var settings = services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
            var file = parseResult.GetValue(output) ?? DatabaseBackup.DefaultFileName(settings, services.GetRequiredService<TimeProvider>().GetUtcNow());
            return await RunAsync(async () =>
            {
                var bytes = await DatabaseBackup.BackupAsync(settings, file, cancellationToken);
                Console.WriteLine($"Backed up {DatabaseBackup.Describe(settings)} to {Path.GetFullPath(file)} ({bytes.ToString("N0", CultureInfo.InvariantCulture)} bytes).");
            });
        });
        return command;
    }

    public static Command Restore()
    {
        var file = new Argument<string>("FILE") { Description = "A file made by 'devorch db backup'" };
        var command = new Command("restore", "Replace the database's contents with a backup (stop the service and its workers first).") { file };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            await using var services = DevOrchestratorCli.BuildServices();
            var settings = services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
            var path = parseResult.GetValue(file)!;
            return await RunAsync(async () =>
            {
                await DatabaseBackup.RestoreAsync(settings, path, cancellationToken);
                Console.WriteLine($"Restored {DatabaseBackup.Describe(settings)} from {Path.GetFullPath(path)}.");
            });
        });
        return command;
    }

    public static Command Status()
    {
        var command = new Command("status", "Show the database (kind and location, never the password) and its applied and pending migrations.");
        command.SetAction(async (_, cancellationToken) =>
        {
            await using var services = DevOrchestratorCli.BuildServices();
            var settings = services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
            await using var db = services.GetRequiredService<IDbContextFactory<AppDbContext>>().CreateDbContext();
            var applied = (await db.Database.GetAppliedMigrationsAsync(cancellationToken)).ToList();
            var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
            Console.WriteLine($"Database: {DatabaseBackup.Describe(settings)}");
            Console.WriteLine($"Applied migrations: {applied.Count}{(applied.Count > 0 ? $" (latest {applied[^1]})" : string.Empty)}");
            Console.WriteLine(pending.Count == 0 ? "Pending migrations: none" : $"Pending migrations: {pending.Count} (run 'devorch db migrate')");
            foreach (var name in pending)
            {
                Console.WriteLine($"  {name}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static async Task<int> RunAsync(Func<Task> action)
    {
        try
        {
            await action();
            return ExitCodes.Ok;
        }
        catch (BackupException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return ex.ExitCode;
        }
        catch (Microsoft.Data.Sqlite.SqliteException ex)
        {
            await Console.Error.WriteLineAsync($"SQLite: {ex.Message}");
            return ExitCodes.Failure;
        }
    }

    /// <summary>The first address of URLS (as <c>devorch serve</c> reads it), a wildcard host asked on loopback.</summary>
    internal static string DefaultBaseUrl()
    {
        var configuration = new ConfigurationManager();
        configuration.AddEnvironmentVariables();
        DevOrchestratorApp.AddSettingsSources(configuration);
        var urls = configuration["URLS"] ?? configuration["ASPNETCORE_URLS"];
        var first = urls?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "http://127.0.0.1:8000";
        foreach (var wildcard in new[] { "://0.0.0.0", "://+", "://*", "://[::]" })
        {
            first = first.Replace(wildcard, "://127.0.0.1", StringComparison.Ordinal);
        }

        return first;
    }

    /// <summary>A base URL gets <c>/health</c>; a URL with a path is used as it is.</summary>
    internal static bool TryHealthUrl(string text, out Uri url)
    {
        url = null!;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https"))
        {
            return false;
        }

        url = parsed.AbsolutePath is "" or "/" ? new Uri(parsed, "/health") : parsed;
        return true;
    }

    private static async Task<int> CheckHealthAsync(Uri url, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { Timeout = timeout };
        string text;
        int status;
        try
        {
            using var response = await client.GetAsync(url, cancellationToken);
            status = (int)response.StatusCode;
            text = await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            await Console.Error.WriteLineAsync($"{url}: unreachable ({(ex.InnerException ?? ex).Message})");
            return ExitCodes.Failure;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync($"{url}: no answer within {timeout.TotalSeconds:0} s");
            return ExitCodes.Failure;
        }

        JsonNode? report = null;
        try
        {
            report = JsonNode.Parse(text);
        }
        catch (JsonException)
        {
        }

        // /health and /api/v1/health answer the report itself; /health/live and /health/ready the envelope with data.status.
        var statusNode = report?["status"] ?? report?["data"]?["status"];
        if (statusNode?.GetValueKind() != JsonValueKind.String)
        {
            var reason = report?["error"]?["message"]?.ToString() ?? (text.Length > 200 ? text[..200] + "…" : text);
            await Console.Error.WriteLineAsync($"{url}: HTTP {status}: {reason.ReplaceLineEndings(" ")}");
            return ExitCodes.Failure;
        }

        var overall = statusNode.GetValue<string>();
        if (report!["services"] is null)
        {
            Console.WriteLine($"{url}: {overall} (HTTP {status})");
            return status is >= 200 and < 300 ? ExitCodes.Ok : ExitCodes.Failure;
        }

        Console.WriteLine($"{url}: {overall} (HTTP {status}, version {report["version"]}, role {report["role"]})");
        if (report["services"] is JsonObject components)
        {
            foreach (var (name, component) in components)
            {
                var message = component?["message"] is JsonValue m ? $": {m}" : string.Empty;
                Console.WriteLine($"  {name}: {component?["status"]}{message}");
            }
        }

        return overall is "healthy" or "degraded" ? ExitCodes.Ok : ExitCodes.Failure;
    }
}
