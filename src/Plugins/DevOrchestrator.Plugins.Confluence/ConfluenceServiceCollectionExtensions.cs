using DevOrchestrator.Abstractions.Plugins;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.Plugins.Confluence;

public static class ConfluenceServiceCollectionExtensions
{
    /// <summary>
    /// Registers the Confluence Cloud plugin: <see cref="ConfluenceSettings"/> (bound from <c>CONFLUENCE_*</c>, validated
    /// at start), the named HTTP client <c>confluence</c> with the shared plugin resilience (its rate overridden by
    /// <c>CONFLUENCE_RATE_LIMIT_REQUESTS_PER_SECOND</c>), and <see cref="ConfluencePlugin"/> as itself,
    /// <see cref="IPlugin"/> and <see cref="IDocumentationPlugin"/>. Calling it twice is harmless.
    /// </summary>
    public static IServiceCollection AddConfluence(this IServiceCollection services)
    {
        services.AddPlugin<ConfluencePlugin, IDocumentationPlugin, ConfluenceSettings, ConfluenceSettingsValidator>(ConfluencePlugin.HttpClientName, s => s.RateLimitRequestsPerSecond);
        return services;
    }
}
