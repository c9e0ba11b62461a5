using DevOrchestrator.Abstractions.Plugins;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

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
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(ConfluencePlugin)))
        {
            return services;
        }

        services.AddPluginSettings<ConfluenceSettings, ConfluenceSettingsValidator>();
        services.AddHttpClient(ConfluencePlugin.HttpClientName)
            .AddPluginResilience(ConfluencePlugin.HttpClientName,
                sp => sp.GetRequiredService<IOptionsMonitor<ConfluenceSettings>>().CurrentValue.RateLimitRequestsPerSecond);
        services.TryAddSingleton<ConfluencePlugin>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPlugin, ConfluencePlugin>(sp => sp.GetRequiredService<ConfluencePlugin>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IDocumentationPlugin, ConfluencePlugin>(sp => sp.GetRequiredService<ConfluencePlugin>()));
        return services;
    }
}
