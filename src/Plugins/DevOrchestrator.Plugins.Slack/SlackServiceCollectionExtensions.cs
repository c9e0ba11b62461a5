using DevOrchestrator.Abstractions.Plugins;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Plugins.Slack;

public static class SlackServiceCollectionExtensions
{
    /// <summary>
    /// Registers the Slack plugin: <see cref="SlackSettings"/> (validated at start), the named HTTP client
    /// <see cref="SlackPlugin.HttpClientName"/> with the plugin resilience pipeline (rate overridable by
    /// <c>SLACK_RATE_LIMIT_REQUESTS_PER_SECOND</c>), the unlogged client for slash command response URLs, and
    /// <see cref="SlackPlugin"/> as itself, <see cref="IPlugin"/> and <see cref="ICommunicationPlugin"/>. Calling it
    /// twice is harmless.
    /// </summary>
    public static IServiceCollection AddSlack(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(SlackPlugin)))
        {
            // HTTP client handlers are additive: a second registration would run every request through the pipeline twice.
            return services;
        }

        services.AddPluginSettings<SlackSettings, SlackSettingsValidator>();
        // The resilience pipeline's attempt and total timeouts govern; HttpClient's own 100 s would cut retries short.
        services.AddHttpClient(SlackPlugin.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .AddPluginResilience(SlackPlugin.PluginName, RateOverride);
        services.AddHttpClient(SlackPlugin.ResponseUrlHttpClientName, client => client.Timeout = TimeSpan.FromSeconds(30))
            .RemoveAllLoggers()
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
        services.TryAddSingleton<SlackPlugin>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPlugin, SlackPlugin>(sp => sp.GetRequiredService<SlackPlugin>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ICommunicationPlugin, SlackPlugin>(sp => sp.GetRequiredService<SlackPlugin>()));
        return services;
    }

    private static double? RateOverride(IServiceProvider services)
    {
        try
        {
            return services.GetRequiredService<IOptionsMonitor<SlackSettings>>().CurrentValue.RateLimitRequestsPerSecond;
        }
        catch (OptionsValidationException)
        {
            // Invalid settings fail the calls themselves (with the validator's message); the shared rate applies meanwhile.
            return null;
        }
    }
}
