using DevOrchestrator.Abstractions.Plugins;
using Microsoft.Extensions.DependencyInjection;

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
        services.AddPlugin<JiraPlugin, ITaskManagementPlugin, JiraSettings, JiraSettingsValidator>(JiraPlugin.PluginName, s => s.RateLimitRequestsPerSecond);
        return services;
    }
}
