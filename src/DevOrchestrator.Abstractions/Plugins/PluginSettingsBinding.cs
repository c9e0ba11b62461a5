using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>
/// Binds a plugin's settings class from the root of the configuration (its properties carry
/// <c>[ConfigurationKeyName("GITHUB_TOKEN")]</c>-style names), validates it at start, and follows configuration
/// reloads — which is how a configuration stored through <c>PUT /api/v1/plugins/{type}/{name}/config</c> (layered over
/// the environment by the host) reaches a running plugin.
/// </summary>
public static class PluginSettingsBinding
{
    public static OptionsBuilder<TSettings> AddPluginSettings<TSettings, TValidator>(this IServiceCollection services)
        where TSettings : class
        where TValidator : class, IValidateOptions<TSettings>
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TSettings>, TValidator>());
        services.TryAddSingleton<IOptionsChangeTokenSource<TSettings>>(sp => new ConfigurationChangeTokenSource<TSettings>(sp.GetRequiredService<IConfiguration>()));
        return services.AddOptions<TSettings>()
            .Configure<IConfiguration>((settings, configuration) => configuration.Bind(settings))
            .ValidateOnStart();
    }

    /// <summary>
    /// Validates proposed values with the plugin's own validator; each failure is filed under the setting its message
    /// starts with (validators name the variable first, e.g. "GITHUB_API_URL must be …"), else under <c>config</c>.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Validate<TSettings>(
        IReadOnlyDictionary<string, string?> values, IValidateOptions<TSettings> validator, IReadOnlyList<PluginSetting> settings)
        where TSettings : class, new()
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(validator);
        ArgumentNullException.ThrowIfNull(settings);
        var bound = new TSettings();
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            new ConfigurationBuilder().AddInMemoryCollection(values).Build().Bind(bound);
        }
        catch (InvalidOperationException ex)
        {
            // The binder names the property and value it could not convert (e.g. "true-ish" for a bool).
            errors["config"] = ex.Message;
            return errors;
        }

        var result = validator.Validate(Options.DefaultName, bound);
        foreach (var failure in result.Failures ?? [])
        {
            var key = settings.Select(s => s.Key).Where(k => failure.StartsWith(k, StringComparison.Ordinal)).OrderByDescending(k => k.Length).FirstOrDefault() ?? "config";
            errors[key] = errors.TryGetValue(key, out var earlier) ? earlier + " " + failure : failure;
        }

        return errors;
    }

    /// <summary>Checks an optional absolute http(s) URL setting; adds a failure naming <paramref name="key"/>.</summary>
    public static void CheckUrl(ICollection<string> failures, string key, string? value)
    {
        ArgumentNullException.ThrowIfNull(failures);
        if (!string.IsNullOrWhiteSpace(value) && (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
        {
            failures.Add($"{key} must be an absolute http:// or https:// URL (got '{value}').");
        }
    }
}
