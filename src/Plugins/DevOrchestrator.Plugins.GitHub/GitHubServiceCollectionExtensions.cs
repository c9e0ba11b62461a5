using DevOrchestrator.Abstractions.Plugins;
using Microsoft.Extensions.DependencyInjection;

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
        services.AddPlugin<GitHubPlugin, IVersionControlPlugin, GitHubSettings, GitHubSettingsValidator>(GitHubPlugin.HttpClientName, s => s.RateLimitRequestsPerSecond);
        return services;
    }
}
