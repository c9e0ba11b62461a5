using DevOrchestrator.Abstractions;
using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Features.Effects;
using DevOrchestrator.Hosting;
using DevOrchestrator.Plugins.Confluence;
using DevOrchestrator.Plugins.GitHub;
using DevOrchestrator.Plugins.Jira;
using DevOrchestrator.Plugins.Slack;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DevOrchestrator.Features.Plugins;

public static class PluginServiceCollectionExtensions
{
    /// <summary>The plugins this host ships, each an entry of <c>/health</c>.</summary>
    public static readonly IReadOnlyList<(string Type, string Name)> Vendors =
    [
        (PluginTypes.AiProvider, "anthropic"),
        (PluginTypes.AiProvider, "openai"),
        (PluginTypes.VersionControl, "github"),
        (PluginTypes.TaskManagement, "jira"),
        (PluginTypes.Communication, "slack"),
        (PluginTypes.Documentation, "confluence"),
    ];

    /// <summary>
    /// Registers the plugin registry, the stored (encrypted) plugin configuration, the per-plugin resilience and its
    /// metrics, the external-effect records, the plugin workflow actions and the vendor plugins (GitHub, Jira, Slack,
    /// Confluence). The intake that turns their events into tasks is registered by <c>AddIntake</c> (Webhooks).
    /// </summary>
    public static IServiceCollection AddPlugins(this IServiceCollection services, PluginOptions settings, ResilienceOptions resilience, StoredPluginConfiguration stored)
    {
        services.TryAddSingleton(stored);
        services.TryAddSingleton<ConfigEncryption>();
        services.TryAddScoped<PluginConfigStore>();
        services.AddHostedService<PluginConfigRefresher>();

        services.TryAddSingleton(new PluginResilienceOptions
        {
            RetryAttempts = settings.PluginRetryAttempts,
            RetryBaseDelay = TimeSpan.FromSeconds(settings.PluginRetryDelaySeconds),
            CircuitBreakerEnabled = resilience.CircuitBreakerEnabled,
            CircuitBreakerThreshold = resilience.CircuitBreakerThreshold,
            BreakDuration = TimeSpan.FromSeconds(settings.CircuitBreakerResetSeconds),
            RateLimitingEnabled = settings.RateLimitingEnabled,
            RequestsPerSecond = settings.RateLimitRequestsPerSecond,
            AttemptTimeout = TimeSpan.FromSeconds(settings.PluginTimeoutSeconds),
            TotalTimeout = TimeSpan.FromSeconds(Math.Max(settings.PluginTimeoutSeconds * (settings.PluginRetryAttempts + 1) * 2, 60)),
        });
        services.TryAddSingleton<IPluginTelemetry, PluginMetrics>();

        // The fleet's state on Redis when REDIS_URL is set (its connection is registered with the task dispatch),
        // else each process keeps its own (decision 0045).
        services.TryAddSingleton<RedisResilienceState>();
        services.TryAddSingleton(sp => new PluginResilienceState(
            sp.GetRequiredService<PluginResilienceOptions>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<IPluginTelemetry>(),
            SharedState(sp)));

        services.AddGitHub();
        services.AddJira();
        services.AddSlack();
        services.AddConfluence();

        services.TryAddSingleton<PluginRegistry>();
        services.TryAddSingleton<PluginProbeCache>();
        services.TryAddSingleton<ExternalEffects>();
        services.TryAddSingleton<TaskChatThread>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IWorkflowActions, VersionControlActions>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IWorkflowActions, TaskManagementActions>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IWorkflowActions, CommunicationActions>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IWorkflowActions, DocumentationActions>());

        var health = services.AddHealthChecks();
        foreach (var (type, name) in Vendors)
        {
            health.Add(new HealthCheckRegistration(name,
                sp => new PluginHealthCheck(type, name, sp.GetRequiredService<PluginRegistry>(), sp.GetRequiredService<PluginProbeCache>(), sp.GetRequiredService<TimeProvider>()),
                HealthStatus.Degraded, ["plugin"]));
        }

        return services;
    }

    /// <summary>The fleet's resilience state: on Redis when <c>REDIS_URL</c> is set, else none (per process).</summary>
    public static ISharedResilienceState? SharedState(IServiceProvider services) =>
        services.GetService<RedisConnection>() is null ? null : services.GetRequiredService<RedisResilienceState>();
}
