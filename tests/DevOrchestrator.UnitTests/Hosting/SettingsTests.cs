using DevOrchestrator.Cli;
using DevOrchestrator.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.UnitTests.Hosting;

public sealed class SettingsTests
{
    private static DevOrchestratorOptions Read(params (string Key, string Value)[] values) =>
        DevOrchestratorOptions.Read(new ConfigurationBuilder().AddInMemoryCollection(values.ToDictionary(v => v.Key, v => (string?)v.Value)).Build());

    [Fact]
    public void Defaults_are_the_embedded_ones()
    {
        var settings = Read();
        Assert.False(settings.Database.UsesPostgres);
        Assert.EndsWith(Path.Combine("data", "devorch.db"), settings.Database.SqlitePath, StringComparison.Ordinal);
        Assert.Equal("./workspaces", settings.Workspaces.WorkspacesDir);
        Assert.Equal("./workflows", settings.Workflows.WorkflowsDir);
        Assert.Equal(5, settings.Agents.MaxConcurrentAgents);
    }

    [Fact]
    public void Every_bad_value_is_reported_by_its_variable_name()
    {
        var ex = Assert.Throws<SettingsException>(() => Read(("ENVIRONMENT", "prod"), ("LOG_LEVEL", "loud"), ("MAX_WORKERS", "0"), ("SANDBOX_MODE", "docker")));
        Assert.Contains(ex.Errors, e => e.StartsWith("ENVIRONMENT", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("LOG_LEVEL", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("MAX_WORKERS", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("SANDBOX_MODE", StringComparison.Ordinal));
    }

    [Fact]
    public void A_value_of_the_wrong_type_names_the_variable()
    {
        var ex = Assert.Throws<SettingsException>(() => Read(("MAX_WORKERS", "many")));
        Assert.Equal("MAX_WORKERS must be a whole number.", Assert.Single(ex.Errors));
    }

    [Fact]
    public void Production_requires_a_jwt_secret()
    {
        var ex = Assert.Throws<SettingsException>(() => Read(("ENVIRONMENT", "production")));
        Assert.Contains(ex.Errors, e => e.StartsWith("JWT_SECRET_KEY", StringComparison.Ordinal));
        Assert.NotNull(Read(("ENVIRONMENT", "production"), ("JWT_SECRET_KEY", new string('k', 40))));
    }

    [Theory]
    [InlineData("postgresql://user:p%40ss@db.example.com:6543/devorch", "db.example.com", 6543, "devorch", "user", "p@ss")]
    [InlineData("postgres://u@localhost/app", "localhost", 5432, "app", "u", null)]
    public void Postgres_urls_become_connection_strings(string url, string host, int port, string database, string user, string? password)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(DatabaseUrls.ToNpgsqlConnectionString(url));
        Assert.Equal(host, builder.Host);
        Assert.Equal(port, builder.Port);
        Assert.Equal(database, builder.Database);
        Assert.Equal(user, builder.Username);
        Assert.Equal(password, builder.Password);
    }

    [Fact]
    public void A_postgres_url_without_a_database_is_refused()
    {
        var ex = Assert.Throws<SettingsException>(() => Read(("DATABASE_URL", "postgresql://u:p@localhost:5432")));
        Assert.Contains(ex.Errors, e => e.StartsWith("DATABASE_URL", StringComparison.Ordinal));
        Assert.DoesNotContain(ex.Errors, e => e.Contains(":p@", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("30d", 30 * 24 * 60)]
    [InlineData("12h", 12 * 60)]
    [InlineData("90m", 90)]
    public void Token_lifetimes_parse(string text, int minutes)
    {
        Assert.True(DevOrchestratorCli.TryParseLifetime(text, out var lifetime));
        Assert.Equal(TimeSpan.FromMinutes(minutes), lifetime);
    }

    [Theory]
    [InlineData("")]
    [InlineData("30")]
    [InlineData("-1d")]
    [InlineData("5y")]
    [InlineData("99999d")]
    public void Bad_token_lifetimes_are_refused(string text) => Assert.False(DevOrchestratorCli.TryParseLifetime(text, out _));

    [Fact]
    public void Sandbox_read_only_paths_must_be_absolute()
    {
        var ex = Assert.Throws<SettingsException>(() => Read(("SANDBOX_READONLY_PATHS", "/opt/node,tools/go")));
        Assert.Equal("SANDBOX_READONLY_PATHS must list absolute directories separated by commas or colons (got 'tools/go').", Assert.Single(ex.Errors));
        Assert.Equal("/opt/node:/opt/go", Read(("SANDBOX_READONLY_PATHS", "/opt/node:/opt/go")).Sandbox.SandboxReadOnlyPaths);
    }

    [Fact]
    public void A_range_failure_names_the_variable_and_the_refused_value()
    {
        // The options source generator words it "The field QueueOptions.TaskLeaseSeconds must be between …" (dotnet/runtime#123137).
        var ex = Assert.Throws<SettingsException>(() => Read(("TASK_LEASE_SECONDS", "2"), ("SANDBOX_MODE", "docker")));
        Assert.Equal(["TASK_LEASE_SECONDS must be at least 5 (got 2).", "SANDBOX_MODE must be auto, bubblewrap or process (got docker)."], ex.Errors);
    }

    [Fact]
    public void Each_feature_gets_its_own_options_read_once()
    {
        var options = Read(("MAX_WORKERS", "3"), ("WORKSPACES_DIR", "/srv/ws"), ("MODEL_TIMEOUT_SECONDS", "100"), ("MODEL_RETRY_ATTEMPTS", "1"));
        using var services = options.AddTo(new ServiceCollection()).BuildServiceProvider();

        Assert.Same(options.Queue, services.GetRequiredService<IOptions<Features.Tasks.QueueOptions>>().Value);
        Assert.Equal(3, services.GetRequiredService<IOptions<Features.Tasks.QueueOptions>>().Value.MaxWorkers);
        Assert.Equal("/srv/ws", services.GetRequiredService<IOptions<Features.Workspaces.WorkspaceOptions>>().Value.WorkspacesDir);
        foreach (var each in options.All)
        {
            var registered = services.GetRequiredService(typeof(IOptions<>).MakeGenericType(each.GetType()));
            Assert.Same(each, registered.GetType().GetProperty("Value")!.GetValue(registered));
        }

        // The cost ledger's reservations outlive a model call's timeouts and retries: (max(60, 100) × 2 + 300) s.
        Assert.Equal(TimeSpan.FromSeconds(500), options.Budget.ReservationLifetime);
    }
}
