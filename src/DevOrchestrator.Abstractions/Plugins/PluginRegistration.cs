using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Abstractions.Plugins;

public static class PluginRegistration
{
    /// <summary>
    /// Registers a vendor plugin the way every one is registered: its settings (bound, validated at start, following
    /// reloads), the named HTTP client <paramref name="name"/> with the plugin resilience (the per-vendor rate from
    /// <paramref name="rateLimit"/> when it gives one), and the plugin as itself, <see cref="IPlugin"/> and its contract.
    /// Returns false (and registers nothing) when the plugin is registered already: HTTP handlers add up, so a second
    /// registration would run every request through the pipeline twice.
    /// </summary>
    public static bool AddPlugin<TPlugin, TContract, TSettings, TValidator>(this IServiceCollection services, string name, Func<TSettings, double?> rateLimit)
        where TPlugin : class, TContract
        where TContract : class, IPlugin
        where TSettings : class
        where TValidator : class, IValidateOptions<TSettings>
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(rateLimit);
        if (services.Any(d => d.ServiceType == typeof(TPlugin)))
        {
            return false;
        }

        services.AddPluginSettings<TSettings, TValidator>();
        services.AddHttpClient(name).AddPluginResilience(name, sp =>
        {
            try
            {
                return rateLimit(sp.GetRequiredService<IOptionsMonitor<TSettings>>().CurrentValue);
            }
            catch (OptionsValidationException)
            {
                // Invalid settings fail the calls themselves, with the validator's message; the shared rate applies meanwhile.
                return null;
            }
        });
        services.TryAddSingleton<TPlugin>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPlugin, TPlugin>(sp => sp.GetRequiredService<TPlugin>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<TContract, TPlugin>(sp => sp.GetRequiredService<TPlugin>()));
        return true;
    }
}
