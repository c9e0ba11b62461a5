using DevOrchestrator.Abstractions.Plugins;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Plugins.Jira;

public static class JiraServiceCollectionExtensions
{
    /// <summary>
    /// Registers the Jira plugin: <see cref="JiraSettings"/> (bound from the <c>JIRA_*</c> variables and validated at
    /// start), the "jira" HTTP client with the plugin resilience (rate from <c>JIRA_RATE_LIMIT_REQUESTS_PER_SECOND</c>
    /// when set), and <see cref="JiraPlugin"/> as itself, <see cref="IPlugin"/> and <see cref="ITaskManagementPlugin"/>.
    /// Calling it twice is harmless.
    /// </summary>
    public static IServiceCollection AddJira(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(JiraPlugin)))
        {
            return services;
        }

        services.AddPluginSettings<JiraSettings, JiraSettingsValidator>();
        services.AddHttpClient(JiraPlugin.PluginName, client => client.Timeout = Timeout.InfiniteTimeSpan) // the resilience pipeline times calls out
            .AddPluginResilience(JiraPlugin.PluginName, sp => sp.GetRequiredService<IOptionsMonitor<JiraSettings>>().CurrentValue.RateLimitRequestsPerSecond);
        services.TryAddSingleton<JiraPlugin>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPlugin, JiraPlugin>(sp => sp.GetRequiredService<JiraPlugin>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ITaskManagementPlugin, JiraPlugin>(sp => sp.GetRequiredService<JiraPlugin>()));
        return services;
    }
}
