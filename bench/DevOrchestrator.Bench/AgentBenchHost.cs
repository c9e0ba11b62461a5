using System.Globalization;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Agents;
using DevOrchestrator.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace DevOrchestrator.Bench;

/// <summary>The rows an agent run belongs to, as the workflow engine would have made them.</summary>
internal sealed record AgentRows(long TaskId, long WorkflowExecutionId, long AgentExecutionId);

/// <summary>
/// A real DevOrchestrator host (<see cref="DevOrchestratorApp.Build"/>, role all, started on a loopback port, so its
/// background services run too) whose model provider is a fake Anthropic server, on a fresh SQLite file or a fresh
/// PostgreSQL database (created here, dropped on dispose). The benchmarks call its <see cref="DevelopmentAgent"/>
/// directly: the same singletons (<see cref="ModelClients"/>, the cost ledger, <see cref="AgentCheckpoints"/>, the
/// sandbox) that an <c>ai_action</c> step would use, without the task queue and the workflow engine around them.
/// </summary>
internal sealed class AgentBenchHost : IAsyncDisposable
{
    private readonly string? _adminUrl;
    private readonly string? _database;

    private AgentBenchHost(WebApplication app, string root, string? adminUrl, string? database)
    {
        App = app;
        Root = root;
        _adminUrl = adminUrl;
        _database = database;
    }

    public WebApplication App { get; }

    /// <summary>The host's own directory (data, workspaces, workflows).</summary>
    public string Root { get; }

    public IServiceProvider Services => App.Services;

    public DevelopmentAgent Agent => Services.GetRequiredService<DevelopmentAgent>();

    /// <summary>The PostgreSQL admin URL and the database made on it; nulls on SQLite.</summary>
    public (string AdminUrl, string Database)? Postgres => _adminUrl is not null && _database is not null ? (_adminUrl, _database) : null;

    /// <summary>"SQLite (file)" or "PostgreSQL (database NAME)".</summary>
    public string DatabaseDescription => _database is null ? "SQLite (a new file, the embedded default)" : $"PostgreSQL (a new database {_database})";

    /// <param name="root">An empty directory the host may use.</param>
    /// <param name="postgresAdminUrl">Null: SQLite in <paramref name="root"/>. Else an admin URL of a PostgreSQL server, on which a fresh database is created.</param>
    /// <param name="settings">Settings over the defaults (the model provider's among them).</param>
    public static async Task<AgentBenchHost> StartAsync(string root, string? postgresAdminUrl, IReadOnlyDictionary<string, string?> settings, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(root);
        string? database = null;
        string databaseUrl;
        if (postgresAdminUrl is null)
        {
            databaseUrl = Path.Combine(root, "data", "devorch.db");
        }
        else
        {
            database = "devorch_bench_agents_" + Guid.NewGuid().ToString("N")[..10];
            await using (var connection = new NpgsqlConnection(DatabaseUrls.ToNpgsqlConnectionString(postgresAdminUrl)))
            {
                await connection.OpenAsync(cancellationToken);
                await using var command = new NpgsqlCommand($"CREATE DATABASE {database}", connection);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            databaseUrl = new UriBuilder(postgresAdminUrl) { Path = "/" + database }.Uri.ToString();
        }

        var values = new Dictionary<string, string?>
        {
            ["LOG_LEVEL"] = "warning",
            ["DATA_DIR"] = Path.Combine(root, "data"),
            ["WORKSPACES_DIR"] = Path.Combine(root, "workspaces"),
            ["WORKFLOWS_DIR"] = Path.Combine(root, "workflows"),
            ["DATABASE_URL"] = databaseUrl,
            ["JWT_SECRET_KEY"] = "bench-secret-" + Guid.NewGuid().ToString("N"),
            ["AI_PROVIDER"] = ModelClients.Anthropic,
        };
        foreach (var (key, value) in settings)
        {
            values[key] = value;
        }

        WebApplication? app = null;
        try
        {
            app = DevOrchestratorApp.Build(new ServeOptions(ServiceRole.All, "http://127.0.0.1:0"), builder => builder.Configuration.AddInMemoryCollection(values));
            await DatabaseMigrator.MigrateAsync(app.Services, cancellationToken);
            await app.StartAsync(cancellationToken);
            return new AgentBenchHost(app, root, postgresAdminUrl, database);
        }
        catch
        {
            if (app is not null)
            {
                await app.DisposeAsync();
            }

            await DropAsync(postgresAdminUrl, database);
            throw;
        }
    }

    /// <summary>
    /// Creates <paramref name="count"/> tasks, each with a running workflow execution and agent execution (what a worker
    /// creates before an <c>ai_action</c> step runs), in three saves.
    /// </summary>
    public async Task<IReadOnlyList<AgentRows>> CreateAgentRowsAsync(int count, string title, CancellationToken cancellationToken)
    {
        await using var scope = Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        var now = DateTimeOffset.UtcNow;

        // Pending, so the sweeper (which re-queues queued and expired running tasks) leaves them alone.
        var tasks = Enumerable.Range(1, count).Select(i => new DevTask
        {
            Title = string.Create(CultureInfo.InvariantCulture, $"{title} #{i}"),
            Status = TaskStatuses.Pending,
            CreatedAt = now,
            UpdatedAt = now,
        }).ToList();
        db.Tasks.AddRange(tasks);
        await db.SaveChangesAsync(cancellationToken);

        var workflows = tasks.Select(t => new WorkflowExecution
        {
            TaskId = t.Id,
            WorkflowName = "agent_benchmark",
            Status = WorkflowStatuses.Running,
            CurrentStep = AiActionHandler.DefaultConversation,
            CreatedAt = now,
            StartedAt = now,
        }).ToList();
        db.WorkflowExecutions.AddRange(workflows);
        await db.SaveChangesAsync(cancellationToken);

        var agents = workflows.Select(w => new AgentExecution
        {
            TaskId = w.TaskId,
            WorkflowExecutionId = w.Id,
            AgentType = AgentRoles.Development,
            CurrentStep = AiActionHandler.DefaultConversation,
            StartedAt = now,
        }).ToList();
        db.AgentExecutions.AddRange(agents);
        await db.SaveChangesAsync(cancellationToken);

        return [.. agents.Select(a => new AgentRows(a.TaskId, a.WorkflowExecutionId!.Value, a.Id))];
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await App.StopAsync(CancellationToken.None);
        }
        finally
        {
            await App.DisposeAsync();
            Npgsql.NpgsqlConnection.ClearAllPools();
            await DropAsync(_adminUrl, _database);
        }
    }

    private static async Task DropAsync(string? adminUrl, string? database)
    {
        if (adminUrl is null || database is null)
        {
            return;
        }

        try
        {
            await using var connection = new NpgsqlConnection(DatabaseUrls.ToNpgsqlConnectionString(adminUrl));
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {database} WITH (FORCE)", connection);
            await command.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException ex)
        {
            await Console.Error.WriteLineAsync($"devorch-bench: could not drop the database {database}: {ex.Message}");
        }
    }
}
