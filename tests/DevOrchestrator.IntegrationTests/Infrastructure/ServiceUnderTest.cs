using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// A real DevOrchestrator host on a loopback port with its own data, workspaces and workflows directories, on SQLite or
/// a fresh PostgreSQL database. Several can share one database (to play several replicas) via <see cref="StartAsync"/>'s
/// <c>shareWith</c>.
/// </summary>
public sealed class ServiceUnderTest : IAsyncDisposable
{
    private readonly bool _ownsDirectories;

    private ServiceUnderTest(WebApplication app, Uri address, SharedState state, bool ownsDirectories)
    {
        App = app;
        Address = address;
        State = state;
        _ownsDirectories = ownsDirectories;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
    }

    public WebApplication App { get; }
    public Uri Address { get; }
    public HttpClient Client { get; }
    public SharedState State { get; }

    /// <summary>Leave the database and directories behind on dispose (a test that restarts the installation).</summary>
    public bool KeepStateOnDispose { get; set; }
    public IServiceProvider Services => App.Services;

    /// <summary>What replicas of one installation share: the database and the directories.</summary>
    public sealed record SharedState(Db Db, string Root, string? DatabaseUrl, string JwtSecret)
    {
        public string DataDir => Path.Combine(Root, "data");
        public string WorkspacesDir => Path.Combine(Root, "workspaces");
        public string PackageCacheDir => Path.Combine(Root, "package-caches");
        public string WorkflowsDir => Path.Combine(Root, "workflows");

        /// <summary>A context on the installation's database without any host (to set up or inspect state while no service runs).</summary>
        public AppDbContext OpenDb()
        {
            if (DatabaseUrl is not null)
            {
                var builder = new Microsoft.EntityFrameworkCore.DbContextOptionsBuilder<PostgresAppDbContext>();
                DatabaseServiceCollectionExtensions.ConfigurePostgres(builder, DatabaseUrls.ToNpgsqlConnectionString(DatabaseUrl));
                return new PostgresAppDbContext(builder.Options);
            }

            var sqlite = new Microsoft.EntityFrameworkCore.DbContextOptionsBuilder<SqliteAppDbContext>();
            DatabaseServiceCollectionExtensions.ConfigureSqlite(sqlite, DatabaseServiceCollectionExtensions.SqliteConnectionString(Path.Combine(DataDir, "devorch.db")));
            return new SqliteAppDbContext(sqlite.Options);
        }
    }

    private static readonly string[] s_vendorSettings =
    [
        "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL",
        "GITHUB_TOKEN", "GITHUB_API_URL", "GITHUB_WEBHOOK_SECRET",
        "JIRA_URL", "JIRA_EMAIL", "JIRA_API_TOKEN", "JIRA_WEBHOOK_SECRET",
        "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL",
        "CONFLUENCE_URL", "CONFLUENCE_EMAIL", "CONFLUENCE_API_TOKEN", "ENCRYPTION_KEY", "ENCRYPTION_KEY_PREVIOUS",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ];

    /// <summary>
    /// The API's request and active task limits for test hosts: far above what any test sends (one user and one IP,
    /// 127.0.0.1, make thousands of requests and queue hundreds of tasks across a run). The rate limit tests set their
    /// own small limits.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string?> GenerousApiLimits = new Dictionary<string, string?>
    {
        ["API_RATE_LIMIT_PER_HOUR"] = "100000000",
        ["API_RATE_LIMIT_ANONYMOUS_PER_HOUR"] = "100000000",
        ["API_MAX_ACTIVE_AGENT_TASKS_PER_USER"] = "100000",
    };

    public static async Task<ServiceUnderTest> StartAsync(
        Db db,
        ServiceRole role = ServiceRole.All,
        IDictionary<string, string?>? settings = null,
        ServiceUnderTest? shareWith = null,
        bool ownState = false,
        CancellationToken cancellationToken = default)
    {
        var state = shareWith?.State ?? await CreateStateAsync(db, cancellationToken);
        var values = new Dictionary<string, string?>
        {
            ["ENVIRONMENT"] = "test",
            ["LOG_LEVEL"] = "warning",
            ["DATA_DIR"] = state.DataDir,
            ["WORKSPACES_DIR"] = state.WorkspacesDir,
            ["PACKAGE_CACHE_DIR"] = state.PackageCacheDir,
            ["WORKFLOWS_DIR"] = state.WorkflowsDir,
            ["DATABASE_URL"] = state.DatabaseUrl ?? Path.Combine(state.DataDir, "devorch.db"),
            ["JWT_SECRET_KEY"] = state.JwtSecret,
            ["SWEEPER_INTERVAL_SECONDS"] = "1",
            ["TASK_LEASE_SECONDS"] = "5",
            ["MAX_WORKERS"] = "4",
        };
        foreach (var (key, value) in GenerousApiLimits)
        {
            values[key] = value;
        }

        // The developer's own vendor settings (an exported GITHUB_TOKEN, ANTHROPIC_API_KEY…) must not reach a test host:
        // it would call the real vendor. A test that wants a vendor gives its settings explicitly.
        foreach (var key in s_vendorSettings)
        {
            values[key] = null;
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        var app = DevOrchestratorApp.Build(new ServeOptions(role, "http://127.0.0.1:0"), builder =>
        {
            builder.Configuration.AddInMemoryCollection(values);
            OpenApiResponseCheck.AddTo(builder.Services);
        });
        await DatabaseMigrator.MigrateAsync(app.Services, cancellationToken);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var service = new ServiceUnderTest(app, new Uri(address), state, shareWith is null || ownState);
        if (role.RunsApi())
        {
            await OpenApiResponseCheck.LoadDocumentAsync(service.Client, cancellationToken);
        }

        return service;
    }

    /// <summary>A host whose database may be unreachable (no migration at start).</summary>
    public static async Task<ServiceUnderTest> StartWithoutMigrationAsync(IDictionary<string, string?> settings, ServiceRole role, CancellationToken cancellationToken)
    {
        var state = await CreateStateAsync(Db.Sqlite, cancellationToken);
        var values = new Dictionary<string, string?>
        {
            ["ENVIRONMENT"] = "test",
            ["LOG_LEVEL"] = "critical",
            ["DATA_DIR"] = state.DataDir,
            ["JWT_SECRET_KEY"] = state.JwtSecret,
        };
        foreach (var (key, value) in settings)
        {
            values[key] = value;
        }

        var app = DevOrchestratorApp.Build(new ServeOptions(role, "http://127.0.0.1:0"), builder =>
        {
            builder.Configuration.AddInMemoryCollection(values);
            OpenApiResponseCheck.AddTo(builder.Services);
        });
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ServiceUnderTest(app, new Uri(address), state, ownsDirectories: true);
    }

    private static async Task<SharedState> CreateStateAsync(Db db, CancellationToken cancellationToken)
    {
        var root = Path.Combine(Path.GetTempPath(), "devorch-tests", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root);
        var url = db == Db.Postgres ? await TestDatabases.CreatePostgresDatabaseAsync(cancellationToken) : null;
        return new SharedState(db, root, url, "test-secret-" + Guid.NewGuid().ToString("N"));
    }

    /// <summary>Creates a user directly in the database and returns a client carrying its bearer token.</summary>
    public async Task<HttpClient> ClientForNewUserAsync(string role, CancellationToken cancellationToken = default)
    {
        await using var scope = Services.CreateAsyncScope();
        var accounts = scope.ServiceProvider.GetRequiredService<UserAccounts>();
        var user = await accounts.CreateAsync($"{role}-{Guid.NewGuid():N}@example.com", role, "correct-horse-battery", cancellationToken)
            ?? throw new InvalidOperationException("user exists");
        var token = scope.ServiceProvider.GetRequiredService<TokenIssuer>().Issue(user, TimeSpan.FromHours(1)).Token;
        var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public async Task<T> WithDbAsync<T>(Func<AppDbContext, Task<T>> action)
    {
        await using var scope = Services.CreateAsyncScope();
        return await action(scope.ServiceProvider.GetRequiredService<AppDbContext>());
    }

    /// <summary>Disposes the host, then fails if any of its responses did not conform to the OpenAPI document.</summary>
    public async ValueTask DisposeAsync()
    {
        var check = App.Services.GetService<OpenApiResponseCheck>();
        try
        {
            await StopAndCleanUpAsync();
        }
        finally
        {
            check?.ThrowIfViolated();
        }
    }

    private async ValueTask StopAndCleanUpAsync()
    {
        Client.Dispose();
        try
        {
            await App.StopAsync(CancellationToken.None);
        }
        finally
        {
            await App.DisposeAsync();
        }

        if (_ownsDirectories && !KeepStateOnDispose)
        {
            if (State.DatabaseUrl is not null)
            {
                await TestDatabases.DropPostgresDatabaseAsync(State.DatabaseUrl);
            }

            try
            {
                Directory.Delete(State.Root, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}

public static class HttpJson
{
    public static async Task<JsonNode> ReadJsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        try
        {
            return JsonNode.Parse(text) ?? throw new InvalidOperationException("empty body");
        }
        catch (JsonException)
        {
            throw new InvalidOperationException($"HTTP {(int)response.StatusCode} body is not JSON: {text}");
        }
    }

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string url, object body) => client.PostAsJsonAsync(url, body);

    /// <summary>Polls until <paramref name="condition"/> holds (bounded), returning the last value.</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> probe, Func<T, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var value = await probe();
            if (condition(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(50);
        }
    }
}
