using System.Collections.Concurrent;
using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.Plugins.Slack;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DevOrchestrator.IntegrationTests.Plugins.Slack;

/// <summary>
/// A fake Slack and a real service collection wired as the host wires it: in-memory configuration pointing
/// <c>SLACK_API_URL</c> at the fake, logging at Trace into <see cref="Logs"/>, fast retries, no rate limit unless asked.
/// </summary>
internal sealed class SlackTestHost : IAsyncDisposable
{
    public const string Channel = "C0DEVORCH1";
    public const string ChannelName = "devorch";

    private SlackTestHost(FakeSlackServer server, ServiceProvider services, IConfigurationRoot configuration, CapturedLogs logs)
    {
        Server = server;
        Services = services;
        Configuration = configuration;
        Logs = logs;
    }

    public FakeSlackServer Server { get; }
    public ServiceProvider Services { get; }
    public IConfigurationRoot Configuration { get; }
    public CapturedLogs Logs { get; }
    public SlackPlugin Plugin => Services.GetRequiredService<SlackPlugin>();

    public static async Task<SlackTestHost> StartAsync(
        CancellationToken cancellationToken,
        string? botToken = FakeSlackServer.DefaultBotToken,
        PluginResilienceOptions? resilience = null,
        TimeProvider? timeProvider = null,
        IPluginTelemetry? telemetry = null,
        IReadOnlyDictionary<string, string?>? settings = null)
    {
        var server = await FakeSlackServer.StartAsync(cancellationToken: cancellationToken);
        server.AddChannel(Channel, ChannelName);
        var values = new Dictionary<string, string?>
        {
            ["SLACK_BOT_TOKEN"] = botToken,
            ["SLACK_API_URL"] = server.ApiUrl.ToString(),
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var logs = new CapturedLogs();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(logs));
        services.AddSingleton(resilience ?? new PluginResilienceOptions
        {
            RetryAttempts = 2,
            RetryBaseDelay = TimeSpan.FromMilliseconds(20),
            RateLimitingEnabled = false,
            CircuitBreakerThreshold = 50,
        });
        if (timeProvider is not null)
        {
            services.AddSingleton(timeProvider);
        }

        if (telemetry is not null)
        {
            services.AddSingleton(telemetry);
        }

        services.AddSlack();
        return new SlackTestHost(server, services.BuildServiceProvider(validateScopes: true), configuration, logs);
    }

    public async ValueTask DisposeAsync()
    {
        await Services.DisposeAsync();
        await Server.DisposeAsync();
    }
}

/// <summary>Every log line written, formatted, at any level (to prove secrets never reach the logs).</summary>
internal sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => _lines.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull
        {
            lines.Enqueue($"{category} scope: {state}");
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}
