using DevOrchestrator.Abstractions.Plugins;
using Microsoft.Extensions.DependencyInjection;

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
        if (services.AddPlugin<SlackPlugin, ICommunicationPlugin, SlackSettings, SlackSettingsValidator>(SlackPlugin.HttpClientName, s => s.RateLimitRequestsPerSecond))
        {
            // A slash command's response_url is itself a credential: a client that never logs it and follows no redirect.
            services.AddHttpClient(SlackPlugin.ResponseUrlHttpClientName, client => client.Timeout = TimeSpan.FromSeconds(30))
                .RemoveAllLoggers()
                .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
        }

        return services;
    }
}
