using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.Plugins.Jira;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace DevOrchestrator.IntegrationTests.Plugins.Jira;

/// <summary>
/// A fake Jira site and a real service collection (in-memory configuration, <c>AddJira()</c>) whose plugin talks to
/// it over HTTP.
/// </summary>
internal sealed class JiraTestHost : IAsyncDisposable
{
    private JiraTestHost(FakeJiraServer server, ServiceProvider services, IConfigurationRoot configuration, RecordingPluginTelemetry telemetry)
    {
        Server = server;
        Services = services;
        Configuration = configuration;
        Telemetry = telemetry;
        Plugin = services.GetRequiredService<JiraPlugin>();
    }

    public FakeJiraServer Server { get; }
    public ServiceProvider Services { get; }
    public IConfigurationRoot Configuration { get; }
    public RecordingPluginTelemetry Telemetry { get; }
    public JiraPlugin Plugin { get; }

    /// <summary>JIRA_URL as configured (no trailing slash).</summary>
    public string SiteUrl => Configuration["JIRA_URL"]!;

    public PluginCircuitBreaker Breaker => Services.GetRequiredService<PluginResilienceState>().Breaker(JiraPlugin.PluginName);

    public static async Task<JiraTestHost> StartAsync(
        CancellationToken cancellationToken,
        Action<PluginResilienceOptions>? resilience = null,
        TimeProvider? timeProvider = null,
        IReadOnlyDictionary<string, string?>? settings = null,
        string? apiToken = null)
    {
        var server = new FakeJiraServer();
        await server.StartAsync(cancellationToken);
        server.AddProject("PROJ");
        var values = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["JIRA_URL"] = server.BaseUrl.ToString().TrimEnd('/'),
            ["JIRA_EMAIL"] = server.Email,
            ["JIRA_API_TOKEN"] = apiToken ?? server.ApiToken,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var options = new PluginResilienceOptions
        {
            RetryBaseDelay = TimeSpan.FromMilliseconds(20),
            RequestsPerSecond = 1000,
            AttemptTimeout = TimeSpan.FromSeconds(60),
        };
        resilience?.Invoke(options);
        var telemetry = new RecordingPluginTelemetry();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging()
            .AddSingleton(options)
            .AddSingleton<IPluginTelemetry>(telemetry);
        if (timeProvider is not null)
        {
            services.AddSingleton(timeProvider);
        }

        services.AddJira();
        return new JiraTestHost(server, services.BuildServiceProvider(validateScopes: true), configuration, telemetry);
    }

    public async ValueTask DisposeAsync()
    {
        await Services.DisposeAsync();
        await Server.DisposeAsync();
    }
}


/// <summary>A fake clock for the circuit breaker's break duration.</summary>
internal static class JiraClock
{
    public static FakeTimeProvider Start() => new(new DateTimeOffset(2026, 1, 5, 9, 0, 0, TimeSpan.Zero));
}
