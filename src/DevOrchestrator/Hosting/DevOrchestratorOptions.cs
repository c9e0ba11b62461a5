using System.ComponentModel.DataAnnotations;
using System.Globalization;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Agents;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Features.Costs;
using DevOrchestrator.Features.Plugins;
using DevOrchestrator.Features.Tasks;
using DevOrchestrator.Features.Workflows;
using DevOrchestrator.Features.Workspaces;
using DevOrchestrator.Hosting.SecretStores;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Hosting;

/// <summary>
/// Every feature's options, bound once from configuration (environment variables, <c>.env</c>, <c>appsettings*.json</c>)
/// and validated together before the host is built: a bad value stops the start with one message per variable
/// (<see cref="SettingsException"/>). <see cref="AddTo"/> then registers each as <see cref="IOptions{TOptions}"/>, so a
/// class asks only for the options it uses. Layout: docs/architecture.md, "Configuration and options".
/// </summary>
public sealed class DevOrchestratorOptions
{
    public ServerOptions Server { get; init; } = new();
    public DatabaseOptions Database { get; init; } = new();
    public QueueOptions Queue { get; init; } = new();
    public AuthOptions Auth { get; init; } = new();
    public BudgetOptions Budget { get; init; } = new();
    public ModelOptions Models { get; init; } = new();
    public AgentOptions Agents { get; init; } = new();
    public ResilienceOptions Resilience { get; init; } = new();
    public PluginOptions Plugins { get; init; } = new();
    public WorkspaceOptions Workspaces { get; init; } = new();
    public SandboxOptions Sandbox { get; init; } = new();
    public WorkflowOptions Workflows { get; init; } = new();
    public ApiRateLimitOptions ApiRateLimits { get; init; } = new();
    public SecretStoreOptions SecretStores { get; init; } = new();

    public HttpEdgeOptions HttpEdge { get; init; } = new();

    /// <summary>Each options type with its defaults, in the order <c>devorch config show</c> lists them.</summary>
    public IEnumerable<object> All => [Server, Database, Queue, Auth, Budget, Models, Agents, Resilience, Plugins, Workspaces, Sandbox, Workflows, ApiRateLimits, HttpEdge, SecretStores];

    /// <summary>Binds and validates every feature's options (and the vendor plugins' settings); throws <see cref="SettingsException"/> naming every bad variable.</summary>
    public static DevOrchestratorOptions Read(IConfiguration configuration)
    {
        var failures = new List<string>();
        var server = Bind(configuration, failures, new ServerOptionsValidator());
        var models = Bind(configuration, failures, new ModelOptionsRangeValidator(), new ModelOptionsValidator());
        var budget = Bind(configuration, failures, new BudgetOptionsValidator(), b => ModelPriceBinding.Read(configuration, b.ModelPrices));
        budget.ReservationLifetime = BudgetOptions.ReservationLifetimeFor(models.ModelTimeoutSeconds, models.ModelRetryAttempts);
        var options = new DevOrchestratorOptions
        {
            Server = server,
            Database = Bind(configuration, failures, new DatabaseOptionsValidator()),
            Queue = Bind(configuration, failures, new QueueOptionsRangeValidator(), new QueueOptionsValidator()),
            Auth = Bind(configuration, failures, new AuthOptionsRangeValidator(), new AuthOptionsValidator(Options.Create(server))),
            Budget = budget,
            Models = models,
            Agents = Bind(configuration, failures, new AgentOptionsValidator()),
            Resilience = Bind(configuration, failures, new ResilienceOptionsValidator()),
            Plugins = Bind(configuration, failures, new PluginOptionsValidator()),
            Workspaces = Bind(configuration, failures, new WorkspaceOptionsValidator()),
            Sandbox = Bind(configuration, failures, new SandboxOptionsRangeValidator(), new SandboxOptionsValidator()),
            Workflows = Bind<WorkflowOptions>(configuration, failures),
            ApiRateLimits = Bind(configuration, failures, new ApiRateLimitOptionsValidator()),
            SecretStores = Bind(configuration, failures, new SecretStoreOptionsValidator()),
            HttpEdge = Bind(configuration, failures, new HttpEdgeOptionsValidator()),
        };

        // The plugins validate their own settings at start too (IOptionsMonitor, ValidateOnStart); checking them here
        // reports every bad variable at once, as a message rather than a host start-up failure.
        Bind(configuration, failures, new Plugins.GitHub.GitHubSettingsValidator());
        Bind(configuration, failures, new Plugins.Jira.JiraSettingsValidator());
        Bind(configuration, failures, new Plugins.Slack.SlackSettingsValidator());
        Bind(configuration, failures, new Plugins.Confluence.ConfluenceSettingsValidator());
        if (failures.Count > 0)
        {
            throw new SettingsException(failures);
        }

        return options;
    }

    /// <summary>Registers each feature's options as <see cref="IOptions{TOptions}"/> (the instances read and validated here).</summary>
    public IServiceCollection AddTo(IServiceCollection services)
    {
        services.AddSingleton(Options.Create(Server));
        services.AddSingleton(Options.Create(Database));
        services.AddSingleton(Options.Create(Queue));
        services.AddSingleton(Options.Create(Auth));
        services.AddSingleton(Options.Create(Budget));
        services.AddSingleton(Options.Create(Models));
        services.AddSingleton(Options.Create(Agents));
        services.AddSingleton(Options.Create(Resilience));
        services.AddSingleton(Options.Create(Plugins));
        services.AddSingleton(Options.Create(Workspaces));
        services.AddSingleton(Options.Create(Sandbox));
        services.AddSingleton(Options.Create(Workflows));
        services.AddSingleton(Options.Create(ApiRateLimits));
        services.AddSingleton(Options.Create(SecretStores));
        services.AddSingleton(Options.Create(HttpEdge));
        return services;
    }

    private static T Bind<T>(IConfiguration configuration, List<string> failures, params IValidateOptions<T>[] validators) where T : class, new() =>
        Bind(configuration, failures, validators, afterBind: null);

    private static T Bind<T>(IConfiguration configuration, List<string> failures, IValidateOptions<T> validator, Action<T> afterBind) where T : class, new() =>
        Bind(configuration, failures, [validator], afterBind);

    private static T Bind<T>(IConfiguration configuration, List<string> failures, IValidateOptions<T>[] validators, Action<T>? afterBind) where T : class, new()
    {
        var options = new T();
        try
        {
            configuration.Bind(options);
            afterBind?.Invoke(options);
        }
        catch (InvalidOperationException ex)
        {
            failures.Add(DescribeBindError(ex));
            return options;
        }

        foreach (var validator in validators)
        {
            var result = validator.Validate(Options.DefaultName, options);
            if (result.Failed)
            {
                failures.AddRange(result.Failures.Select(f => NameTheVariable(f, options)));
            }
        }

        return options;
    }

    /// <summary>
    /// The source-generated validators prefix a data-annotation failure with the property's name, and word a
    /// <c>[Range]</c> failure as "The field AgentOptions.AgentMaxTurns must be between 1 and 1000." whatever the
    /// attribute's <c>ErrorMessage</c> (dotnet/runtime#123137). This returns the message the attribute declares, which
    /// names the variable, with the value that was refused.
    /// </summary>
    private static string NameTheVariable<T>(string failure, T options)
    {
        var colon = failure.IndexOf(": ", StringComparison.Ordinal);
        var property = colon > 0 ? typeof(T).GetProperty(failure[..colon]) : null;
        if (property is null)
        {
            return failure;
        }

        var declared = property.GetCustomAttributes(typeof(ValidationAttribute), inherit: true).Cast<ValidationAttribute>()
            .Select(a => a.ErrorMessage).FirstOrDefault(m => m is not null) ?? failure[(colon + 2)..];
        return string.Create(CultureInfo.InvariantCulture, $"{declared.TrimEnd('.')} (got {property.GetValue(options)}).");
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
