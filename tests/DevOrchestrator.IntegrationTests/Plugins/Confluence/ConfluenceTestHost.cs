using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.Plugins.Confluence;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.IntegrationTests.Plugins.Confluence;

/// <summary>A real service collection with the Confluence plugin pointed at a fake server through in-memory configuration.</summary>
internal static class ConfluenceTestHost
{
    public static PluginResilienceOptions FastResilience() => new()
    {
        RetryAttempts = 3,
        RetryBaseDelay = TimeSpan.FromMilliseconds(20),
        CircuitBreakerThreshold = 50,
        RequestsPerSecond = 1000,
    };

    public static Dictionary<string, string?> SettingsFor(FakeConfluenceServer server) => new(StringComparer.Ordinal)
    {
        [ConfluenceSettings.UrlKey] = server.SiteUrl,
        [ConfluenceSettings.EmailKey] = server.Email,
        [ConfluenceSettings.ApiTokenKey] = server.ApiToken,
    };

    public static ServiceProvider Build(
        IConfiguration configuration, PluginResilienceOptions? resilience = null, Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(configuration);
        services.AddLogging();
        services.AddSingleton(resilience ?? FastResilience());
        configure?.Invoke(services);
        services.AddConfluence();
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    public static ServiceProvider Build(
        FakeConfluenceServer server, PluginResilienceOptions? resilience = null, Action<IServiceCollection>? configure = null) =>
        Build(new ConfigurationBuilder().AddInMemoryCollection(SettingsFor(server)).Build(), resilience, configure);
}
