using DevOrchestrator.Data;
using DevOrchestrator.Features.Agents;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Features.Costs;
using DevOrchestrator.Features.Events;
using DevOrchestrator.Features.Health;
using DevOrchestrator.Features.Plugins;
using DevOrchestrator.Features.Projects;
using DevOrchestrator.Features.Tasks;
using DevOrchestrator.Features.Webhooks;
using DevOrchestrator.Features.Workflows;
using DevOrchestrator.Features.Workspaces;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Options;
using Scalar.AspNetCore;

namespace DevOrchestrator.Hosting;

/// <summary>Options of one <c>devorch serve</c> process, from its command line.</summary>
public sealed record ServeOptions(ServiceRole Role = ServiceRole.All, string? Urls = null, bool Debug = false, string? LogLevel = null);

/// <summary>Builds the one host of every role: a short list of <c>Add*</c> and <c>Map*</c> calls.</summary>
public static class DevOrchestratorApp
{
    public const string DefaultUrls = "http://0.0.0.0:8000";

    /// <param name="configure">Lets tests add configuration or services before the settings are read.</param>
    public static WebApplication Build(ServeOptions serve, Action<WebApplicationBuilder>? configure = null, string[]? args = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args ?? [],
            ContentRootPath = Directory.GetCurrentDirectory(),
            EnvironmentName = HostEnvironmentName(EnvironmentSetting()),
        });
        // Whatever ENVIRONMENT is, the container behaves the same (ASP.NET would validate scopes in Development only).
        builder.Host.UseDefaultServiceProvider(o => (o.ValidateScopes, o.ValidateOnBuild) = (false, false));
        AddSettingsSources(builder.Configuration);
        builder.WebHost.UseKestrel(o => o.AddServerHeader = false);
        builder.WebHost.UseUrls(serve.Urls ?? builder.Configuration["URLS"] ?? DefaultUrls);
        if (serve.Debug)
        {
            builder.Configuration["DEBUG"] = "true";
        }

        if (serve.LogLevel is not null)
        {
            builder.Configuration["LOG_LEVEL"] = serve.LogLevel;
        }

        configure?.Invoke(builder);

        // Plugin settings stored through the API (encrypted in the database) win over every other source.
        var storedPluginConfiguration = new StoredPluginConfiguration();
        ((IConfigurationBuilder)builder.Configuration).Add(storedPluginConfiguration);

        var settings = ReadSettings(builder.Configuration);
        if (!settings.UsesPostgres && serve.Role is not ServiceRole.All)
        {
            throw new SettingsException([$"--role {serve.Role.ToString().ToLowerInvariant()} needs a shared database: set DATABASE_URL=postgresql://user:pass@host:5432/db (the embedded SQLite and in-memory queue serve one process, --role all)."]);
        }

        CreateIgnoredDirectory(settings.FullDataDir);
        CreateIgnoredDirectory(Path.GetFullPath(settings.WorkspacesDir));

        var services = builder.Services;
        services.AddSingleton(serve);
        services.AddOptions<DevOrchestratorSettings>().Bind(builder.Configuration)
            .PostConfigure(s => ReadModelPrices(builder.Configuration, s)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DevOrchestratorSettings>, DevOrchestratorSettingsValidator>();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<DevOrchestratorSettings>>().Value);
        services.AddSingleton(TimeProvider.System);

        builder.AddJsonLogging(settings);
        builder.AddTracing(serve.Role);
        services.AddDevOrchestratorDatabase(settings);
        services.AddEvents();
        services.AddPrometheusMetrics();
        services.AddDevOrchestratorHealthChecks();
        services.AddAuth(settings);
        services.AddWorkflows();
        services.AddWorkspaces();
        services.AddAgents();
        services.AddPlugins(settings, storedPluginConfiguration, serve.Role.RunsWorkers());
        services.AddTaskDispatch(settings, serve.Role);

        // Keys for the dashboard's antiforgery tokens: kept with the data, not regenerated on every start, in a directory
        // only the owner can read (like jwt_secret); not encrypted at rest — see docs/decisions/0010.
        services.AddDataProtection().SetApplicationName("devorch").PersistKeysToFileSystem(PrivateDirectory(Path.Combine(settings.FullDataDir, "keys")));
        services.ConfigureHttpJsonOptions(o => JsonDefaults.Configure(o.SerializerOptions));
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddProblemDetails();
        services.AddExceptionHandler<ApiExceptionHandler>();
        services.AddOpenApi("v1", o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "DevOrchestrator API";
            document.Info.Description = "Self-hosted AI development automation. Every /api/v1 route except login and health needs a bearer token.";
            return Task.CompletedTask;
        }));

        var app = builder.Build();

        app.UseRequestContext();
        app.UseExceptionHandler();
        app.UseStatusCodePages(ApiExceptionHandler.WriteStatusCodeEnvelopeAsync);
        app.UseHttpMetrics();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseUserLogScope();
        app.UseRequestInputCheck();

        app.MapHealth();
        app.MapMetricsEndpoints();
        if (serve.Role.RunsApi())
        {
            app.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous();
            app.MapScalarApiReference("/docs", o => o.WithOpenApiRoutePattern("/openapi/{documentName}.json").WithTitle("DevOrchestrator API")).AllowAnonymous();
            app.MapAuthApi();
            app.MapProjectsApi();
            app.MapTasksApi();
            app.MapWorkflowsApi();
            app.MapAgentsApi();
            app.MapCostsApi();
            app.MapPluginsApi();
            app.MapWebhooks();
            app.MapEventStreams();
        }

        app.MapTaskDispatchDashboard();
        return app;
    }

    /// <summary>ENVIRONMENT from the environment, <c>.env</c> or appsettings.json, read before the host is made: its name is the host's environment.</summary>
    private static string EnvironmentSetting()
    {
        var configuration = new ConfigurationManager();
        configuration.AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true);
        configuration.AddEnvironmentVariables();
        AddSettingsSources(configuration);
        return configuration["ENVIRONMENT"] ?? "development";
    }

    /// <summary>The host's environment (logged at start, picks appsettings.{name}.json): ENVIRONMENT, not ASP.NET's default of Production.</summary>
    internal static string HostEnvironmentName(string environment) => environment.ToLowerInvariant() switch
    {
        "production" => Environments.Production,
        "staging" => Environments.Staging,
        "test" => "Test",
        _ => Environments.Development,
    };

    /// <summary>
    /// Creates a directory the service writes (DATA_DIR, WORKSPACES_DIR) with a <c>.gitignore</c> of <c>*</c> inside, so
    /// that wherever it lands — the default <c>./data</c> of whatever directory the command ran in — git ignores it.
    /// A directory that already exists is left as it is.
    /// </summary>
    internal static void CreateIgnoredDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            return;
        }

        Directory.CreateDirectory(path);
        try
        {
            File.WriteAllText(Path.Combine(path, ".gitignore"), "# Written by DevOrchestrator: its data, not source.\n*\n");
        }
        catch (IOException)
        {
            // Another process starting at the same moment wrote it.
        }
    }

    private static DirectoryInfo PrivateDirectory(string path)
    {
        var directory = Directory.CreateDirectory(path);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return directory;
    }

    /// <summary>Adds <c>.env</c> (lower precedence than real environment variables) to the configuration.</summary>
    public static void AddSettingsSources(IConfigurationManager configuration)
    {
        var envFile = Environment.GetEnvironmentVariable("DEVORCH_ENV_FILE") ?? Path.Combine(Directory.GetCurrentDirectory(), ".env");
        if (!File.Exists(envFile))
        {
            return;
        }

        var values = DotNetEnv.Env.NoEnvVars().NoClobber().Load(envFile).ToDictionary(kv => kv.Key, kv => (string?)kv.Value);
        var sources = configuration.Sources;
        var index = sources.ToList().FindIndex(s => s is EnvironmentVariablesConfigurationSource);
        var source = new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource { InitialData = values };
        if (index < 0)
        {
            sources.Insert(0, source);
        }
        else
        {
            sources.Insert(index, source);
        }
    }

    /// <summary>Reads and validates the settings; throws <see cref="SettingsException"/> naming every bad variable.</summary>
    public static DevOrchestratorSettings ReadSettings(IConfiguration configuration)
    {
        var settings = new DevOrchestratorSettings();
        try
        {
            configuration.Bind(settings);
            ReadModelPrices(configuration, settings);
        }
        catch (InvalidOperationException ex)
        {
            throw new SettingsException([DescribeBindError(ex)]);
        }

        var failures = new List<string>();
        var result = new DevOrchestratorSettingsValidator().Validate(null, settings);
        if (result.Failed)
        {
            failures.AddRange(result.Failures);
        }

        // The plugins validate their own settings at start too; checking them here reports every bad variable at once,
        // as a message rather than a host start-up failure.
        failures.AddRange(Check(configuration, new Plugins.GitHub.GitHubSettingsValidator()));
        failures.AddRange(Check(configuration, new Plugins.Jira.JiraSettingsValidator()));
        failures.AddRange(Check(configuration, new Plugins.Slack.SlackSettingsValidator()));
        failures.AddRange(Check(configuration, new Plugins.Confluence.ConfluenceSettingsValidator()));
        if (failures.Count > 0)
        {
            throw new SettingsException(failures);
        }

        return settings;
    }

    private static readonly string[] s_priceKeys = ["input", "output", "cache_write", "cache_read", "context_window"];

    /// <summary>
    /// Reads <c>MODEL_PRICES</c> again after the binder: model ids may contain ':' (Ollama's <c>llama3.1:8b</c>), which
    /// configuration takes for a section separator, so the binder files such a price under <c>llama3.1</c>; and it
    /// drops an entry whose value does not convert instead of failing. A section with a price key is a model's price,
    /// named by its path below <c>MODEL_PRICES</c>.
    /// </summary>
    private static void ReadModelPrices(IConfiguration configuration, DevOrchestratorSettings settings)
    {
        var root = configuration.GetSection("MODEL_PRICES");
        if (!root.Exists())
        {
            return;
        }

        settings.ModelPrices.Clear();
        Read(root);

        void Read(IConfigurationSection section)
        {
            foreach (var child in section.GetChildren())
            {
                if (child.GetChildren().Any(c => s_priceKeys.Contains(c.Key, StringComparer.OrdinalIgnoreCase)))
                {
                    var price = new Features.Costs.ModelPrice();
                    child.Bind(price);
                    settings.ModelPrices[child.Path[(root.Path.Length + 1)..]] = price;
                }

                Read(child);
            }
        }
    }

    private static IEnumerable<string> Check<T>(IConfiguration configuration, IValidateOptions<T> validator) where T : class, new()
    {
        var settings = new T();
        try
        {
            configuration.Bind(settings);
        }
        catch (InvalidOperationException ex)
        {
            return [DescribeBindError(ex)];
        }

        var result = validator.Validate(null, settings);
        return result.Failed ? result.Failures : [];
    }

    private static string DescribeBindError(InvalidOperationException ex)
    {
        // "Failed to convert configuration value 'many' at 'MAX_WORKERS' to type 'System.Int32'."
        var message = ex.Message;
        var match = System.Text.RegularExpressions.Regex.Match(message, "at '([^']+)' to type '([^']+)'");
        if (match.Success)
        {
            var type = match.Groups[2].Value switch
            {
                "System.Int32" or "System.Int64" => "a whole number",
                "System.Boolean" => "true or false",
                "System.Decimal" or "System.Double" => "a number",
                _ => "a valid value",
            };
            return $"{match.Groups[1].Value} must be {type}.";
        }

        return message;
    }
}
