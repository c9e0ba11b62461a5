using DevOrchestrator.Abstractions.Plugins;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Plugins.GitHub;

public static class GitHubServiceCollectionExtensions
{
    /// <summary>
    /// Registers the GitHub plugin: <see cref="GitHubSettings"/> (validated at start), the named HTTP client
    /// <c>github</c> with the plugin resilience pipeline (rate from <c>GITHUB_RATE_LIMIT_REQUESTS_PER_SECOND</c> when
    /// set), and <see cref="GitHubPlugin"/> as itself, <see cref="IPlugin"/> and <see cref="IVersionControlPlugin"/>.
    /// Calling it twice is harmless.
    /// </summary>
    public static IServiceCollection AddGitHub(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(GitHubPlugin)))
        {
            return services;
        }

        services.AddPluginSettings<GitHubSettings, GitHubSettingsValidator>();
        services.AddHttpClient(GitHubPlugin.HttpClientName)
            .AddPluginResilience(GitHubPlugin.PluginName, sp => sp.GetRequiredService<IOptionsMonitor<GitHubSettings>>().CurrentValue.RateLimitRequestsPerSecond);
        services.TryAddSingleton<GitHubPlugin>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPlugin, GitHubPlugin>(sp => sp.GetRequiredService<GitHubPlugin>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IVersionControlPlugin, GitHubPlugin>(sp => sp.GetRequiredService<GitHubPlugin>()));
        return services;
    }
}
