using DevOrchestrator.Data;
using DevOrchestrator.Features.Agents;
using DevOrchestrator.Features.Audit;
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
using DevOrchestrator.Hosting.SecretStores;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Scalar.AspNetCore;

namespace DevOrchestrator.Hosting;

/// <summary>Builds the one host of every role: a short list of <c>Add*</c> and <c>Map*</c> calls.</summary>
public static class DevOrchestratorApp
{
    public const string DefaultUrls = "http://0.0.0.0:8000";

    /// <param name="configure">Lets tests add configuration or services before the settings are read.</param>
    /// <param name="checkOptions">Runs on the options once read and validated, before the host is built (the commands check the database there).</param>
    /// <param name="secretStores">The secret stores read before (<see cref="SecretStoreSet.LoadAsync"/>): their settings win over the environment, <c>.env</c> and files, and are refreshed while the host runs.</param>
    public static WebApplication Build(ServeOptions serve, Action<WebApplicationBuilder>? configure = null, string[]? args = null, Action<DevOrchestratorOptions>? checkOptions = null,
        SecretStoreSet? secretStores = null)
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
        // HTTPS from the Kestrel section (Kestrel__Certificates__Default__Path, an https:// listen URL): docs/security.md, "Edges".
        builder.WebHost.UseKestrelHttpsConfiguration();
        var urls = serve.Urls ?? builder.Configuration["URLS"] ?? DefaultUrls;
        builder.WebHost.UseUrls(urls);
        if (serve.Debug)
        {
            builder.Configuration["DEBUG"] = "true";
        }

        if (serve.LogLevel is not null)
        {
            builder.Configuration["LOG_LEVEL"] = serve.LogLevel;
        }

        configure?.Invoke(builder);
        secretStores?.AddTo(builder.Configuration);

        // Plugin settings stored through the API (encrypted in the database) win over every other source.
        var storedPluginConfiguration = new StoredPluginConfiguration();
        ((IConfigurationBuilder)builder.Configuration).Add(storedPluginConfiguration);

        var options = DevOrchestratorOptions.Read(builder.Configuration);
        if (!options.Database.UsesPostgres && serve.Role is not ServiceRole.All)
        {
            throw new SettingsException([$"--role {serve.Role.ToString().ToLowerInvariant()} needs a shared database: set DATABASE_URL=postgresql://user:pass@host:5432/db (the embedded SQLite and in-memory queue serve one process, --role all)."]);
        }

        // The prompt templates (the embedded defaults and the files in PROMPTS_DIR) are checked like settings: a bad one stops the start.
        if (Features.Agents.Prompts.PromptTemplates.Validate(Path.GetFullPath(options.Agents.PromptsDir)) is { Count: > 0 } promptProblems)
        {
            throw new SettingsException([.. promptProblems.Select(p => "PROMPTS_DIR: " + p)]);
        }

        checkOptions?.Invoke(options);
        builder.WebHost.UseLargestBodyLimit(options.HttpEdge);
        CreateIgnoredDirectory(options.Server.FullDataDir);
        CreateIgnoredDirectory(Path.GetFullPath(options.Workspaces.WorkspacesDir));

        var services = builder.Services;
        services.AddSingleton(serve);
        options.AddTo(services);
        services.AddSingleton(TimeProvider.System);
        if (secretStores is { Stores.Count: > 0 })
        {
            services.AddSingleton(secretStores);
            services.AddHostedService<SecretStoreRefresher>();
        }

        builder.AddJsonLogging(options.Server);
        builder.AddTracing(serve.Role);
        services.AddDevOrchestratorDatabase(options.Database);
        services.AddEvents(listenForOtherProcesses: options.Database.UsesPostgres && serve.Role.RunsApi());
        services.AddPrometheusMetrics();
        services.AddDevOrchestratorHealthChecks();
        services.AddAuditTrail();
        services.AddAuth(options.Auth, options.Server);
        services.AddWorkflows();
        services.AddWorkspaces();
        services.AddAgents();
        services.AddPlugins(options.Plugins, options.Resilience, storedPluginConfiguration);
        services.AddIntake(serve.Role.RunsWorkers());
        services.AddTaskDispatch(options.Queue, options.Database, serve.Role);

        // Keys for the dashboard's antiforgery tokens: kept with the data, not regenerated on every start, in a directory
        // only the owner can read (like jwt_secret); not encrypted at rest — see docs/decisions/0010.
        services.AddDataProtection().SetApplicationName("devorch").PersistKeysToFileSystem(PrivateDirectory(Path.Combine(options.Server.FullDataDir, "keys")));
        services.ConfigureHttpJsonOptions(o => JsonDefaults.Configure(o.SerializerOptions));
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddProblemDetails();
        services.AddExceptionHandler<ApiExceptionHandler>();
        services.AddDevOrchestratorOpenApi();
        services.AddApiRateLimits(options.ApiRateLimits);
        services.AddHttpsRedirect(options.HttpEdge, urls);
        services.AddCorsAllowList(options.HttpEdge);

        var app = builder.Build();
        var settingsLogger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("DevOrchestrator.Settings");
        foreach (var warning in SettingsWarnings.Of(builder.Configuration))
        {
            SettingsWarnings.Log(settingsLogger, warning);
        }

        // First: everything after sees the client's address and scheme, and every answer gets the security headers.
        app.UseTrustedProxies(options.HttpEdge);
        app.UseSecurityHeaders(options.HttpEdge);
        app.UseRequestContext();
        app.UseExceptionHandler();
        app.UseStatusCodePages(ApiExceptionHandler.WriteStatusCodeEnvelopeAsync);
        // CORS before the refusals below, so a browser can read their envelope (a 413, a redirect).
        app.UseCorsAllowList(options.HttpEdge);
        app.UseRequestBodyLimits(options.HttpEdge);
        app.UseHttpsRedirect(options.HttpEdge);
        app.UseHttpMetrics();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        app.UseAuthentication();
        app.UseApiRateLimits(options.ApiRateLimits);
        app.UseAuthorization();
        app.UseUserLogScope();
        app.UseRequestInputCheck();

        // Every route's OpenAPI operation declares the error envelope for the statuses any route can answer.
        var routes = app.MapGroup(string.Empty).WithErrorEnvelope();
        routes.MapHealth();
        routes.MapMetricsEndpoints();
        if (serve.Role.RunsApi())
        {
            app.MapApiReference();
            app.MapScalarApiReference("/docs", o => o.WithOpenApiRoutePattern("/openapi/{documentName}.json").WithTitle("DevOrchestrator API")).AllowAnonymous();
            routes.MapAuthApi();
            routes.MapUsersApi();
            routes.MapApiKeysApi();
            routes.MapAuditApi(Roles.CanAdminister);
            routes.MapProjectsApi();
            routes.MapTasksApi();
            routes.MapMetricsSummaryApi();
            routes.MapWorkflowsApi();
            routes.MapWorkflowExecuteApi();
            routes.MapAgentsApi();
            routes.MapCostsApi();
            routes.MapPluginsApi();
            routes.MapWebhooks();
            routes.MapEventStreams();
        }

        app.MapTaskDispatchDashboard();
        return app;
    }

    /// <summary>ENVIRONMENT from the environment, <c>.env</c> or appsettings.json, read before the host is made: its name is the host's environment.</summary>
    internal static string EnvironmentSetting()
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

    /// <summary>The <c>.env</c> file read at start: <c>DEVORCH_ENV_FILE</c>, else <c>.env</c> in the working directory.</summary>
    public static string EnvFilePath() =>
        Environment.GetEnvironmentVariable("DEVORCH_ENV_FILE") ?? Path.Combine(Directory.GetCurrentDirectory(), ".env");

    /// <summary>
    /// Adds <c>.env</c> (lower precedence than real environment variables) to the configuration, then the secrets read
    /// from <c>NAME_FILE</c> files (<see cref="SecretFiles"/>).
    /// </summary>
    public static void AddSettingsSources(IConfigurationManager configuration)
    {
        AddEnvFile(configuration);
        SecretFiles.AddTo(configuration);
    }

    private static void AddEnvFile(IConfigurationManager configuration)
    {
        var envFile = EnvFilePath();
        if (!File.Exists(envFile))
        {
            return;
        }

        // A key set twice: the last value wins, as in a shell (SettingsWarnings names the lines at start).
        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (key, value) in DotNetEnv.Env.NoEnvVars().Load(envFile))
        {
            values[key] = value;
        }

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
}
