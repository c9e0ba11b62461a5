using System.CommandLine;
using System.Globalization;
using System.Reflection;
using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Hosting;
using DevOrchestrator.Hosting.SecretStores;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Configuration.Memory;

namespace DevOrchestrator.Cli;

/// <summary>
/// <c>devorch config show</c>: every setting of every feature's options (and of the vendor plugins), its effective
/// value — secrets masked — and where the value comes from (default, <c>.env</c>, the environment, an
/// <c>appsettings*.json</c> file, <c>NAME_FILE</c>, a secret store such as <c>vault:secret/data/devorch</c>), read as <c>devorch serve</c> reads them. Then the same validation as at start: a bad
/// value is listed on standard error and the exit code is 2.
/// </summary>
public static class ConfigCommand
{
    public const string Default = "default";
    public const string Masked = "********";

    public static Command Create()
    {
        var show = new Command("show", "Print the effective configuration: every setting, its value (secrets masked) and its source.");
        show.SetAction(async (_, cancellationToken) =>
        {
            await using var services = WorkflowsValidateCommand.ValidationServices(new DevOrchestratorOptions()).BuildServiceProvider();
            var declared = services.GetServices<IPlugin>().SelectMany(p => p.Settings).DistinctBy(s => s.Key).ToDictionary(s => s.Key, StringComparer.Ordinal);
            var configuration = Configuration();

            // Read like `devorch serve` reads them: a store that cannot be read is the same start-up error (exit 2).
            await using var secretStores = await SecretStoreSet.LoadAsync(configuration, TimeProvider.System, cancellationToken);
            secretStores.AddTo(configuration);
            return await ShowAsync(configuration, declared, Console.Out, Console.Error);
        });
        return new Command("config", "Configuration commands.") { show };
    }

    /// <summary>The configuration as the service reads it: appsettings.json, appsettings.{environment}.json, <c>.env</c>, the environment.</summary>
    public static ConfigurationManager Configuration()
    {
        var directory = Directory.GetCurrentDirectory();
        var configuration = new ConfigurationManager();
        configuration.AddJsonFile(Path.Combine(directory, "appsettings.json"), optional: true);
        configuration.AddJsonFile(Path.Combine(directory, $"appsettings.{DevOrchestratorApp.HostEnvironmentName(DevOrchestratorApp.EnvironmentSetting())}.json"), optional: true);
        configuration.AddEnvironmentVariables();
        DevOrchestratorApp.AddSettingsSources(configuration);
        return configuration;
    }

    /// <summary>
    /// Writes the table to <paramref name="output"/>, then validates: 0, or 2 with each bad variable on <paramref name="error"/>.
    /// <paramref name="declared"/>: the plugins' own descriptions of their settings (their defaults, which are secrets).
    /// </summary>
    public static async Task<int> ShowAsync(IConfigurationRoot configuration, IReadOnlyDictionary<string, PluginSetting> declared, TextWriter output, TextWriter error)
    {
        foreach (var (section, rows) in Describe(configuration, declared))
        {
            await output.WriteLineAsync($"# {section}");
            foreach (var row in rows)
            {
                await output.WriteLineAsync($"{row.Key,-40} {row.Value,-40} {row.Source}");
            }

            await output.WriteLineAsync();
        }

        foreach (var warning in SettingsWarnings.Of(configuration))
        {
            await error.WriteLineAsync("warning: " + warning);
        }

        try
        {
            _ = DevOrchestratorOptions.Read(configuration);
            return ExitCodes.Ok;
        }
        catch (SettingsException ex)
        {
            await error.WriteLineAsync(ex.Message);
            return ExitCodes.Usage;
        }
    }

    /// <summary>One section per options type (then the vendor plugins), each setting once, in declaration order.</summary>
    public static IReadOnlyList<(string Section, IReadOnlyList<ConfigRow> Rows)> Describe(IConfigurationRoot configuration, IReadOnlyDictionary<string, PluginSetting> declared)
    {
        var sources = Sources(configuration);
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var sections = new List<(string, IReadOnlyList<ConfigRow>)>();
        object[] vendors = [new Plugins.GitHub.GitHubSettings(), new Plugins.Jira.JiraSettings(), new Plugins.Slack.SlackSettings(), new Plugins.Confluence.ConfluenceSettings()];
        foreach (var defaults in new DevOrchestratorOptions().All.Concat(vendors))
        {
            var rows = new List<ConfigRow>();
            foreach (var property in defaults.GetType().GetProperties())
            {
                if (property.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name is not { } key || !seen.Add(key))
                {
                    continue;
                }

                rows.AddRange(property.PropertyType.IsGenericType && property.PropertyType.GetGenericTypeDefinition() == typeof(Dictionary<,>)
                    ? Entries(configuration, sources, key)
                    : [Row(configuration, sources, key, property.GetValue(defaults) ?? declared.GetValueOrDefault(key)?.Default, declared.GetValueOrDefault(key)?.Secret ?? false)]);
            }

            var type = defaults.GetType();
            sections.Add(($"{type.Name} ({type.Namespace?.Replace("DevOrchestrator.", string.Empty, StringComparison.Ordinal).Replace('.', '/')})", rows));
        }

        sections.Add(("Host", [Row(configuration, sources, "URLS", DevOrchestratorApp.DefaultUrls), Row(configuration, sources, "DB_AUTO_MIGRATE", false)]));
        return sections;
    }

    private static ConfigRow Row(IConfigurationRoot configuration, IReadOnlyList<(IConfigurationProvider Provider, string Name)> sources, string key, object? defaultValue, bool secret = false)
    {
        var source = sources.LastOrDefault(s => s.Provider.TryGet(key, out _));
        var value = source.Provider is null ? Format(defaultValue) : configuration[key] ?? string.Empty;
        var from = source.Provider switch
        {
            null => Default,
            SecretFiles.SecretFilesProvider => key + SecretFiles.Suffix,
            _ => source.Name,
        };
        // Whatever a secret store holds is shown masked: it is there because it is a secret.
        var masked = (secret || source.Provider is SecretStoreConfiguration) && source.Provider is not null && value.Length > 0;
        return new ConfigRow(key, masked ? Masked : Mask(key, value), from);
    }

    /// <summary>A dictionary setting (<c>MODEL_PRICES</c>): one row per value under it, or one row for the built-in default.</summary>
    private static IEnumerable<ConfigRow> Entries(IConfigurationRoot configuration, IReadOnlyList<(IConfigurationProvider Provider, string Name)> sources, string key)
    {
        var leaves = configuration.GetSection(key).AsEnumerable(makePathsRelative: false).Where(kv => kv.Value is not null).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        return leaves.Count == 0
            ? [new ConfigRow(key, "(built-in table)", Default)]
            : leaves.Select(kv => Row(configuration, sources, kv.Key, null));
    }

    private static List<(IConfigurationProvider Provider, string Name)> Sources(IConfigurationRoot configuration) =>
        [.. configuration.Providers.Select(provider => (provider, provider switch
        {
            EnvironmentVariablesConfigurationProvider => "environment",
            SecretFiles.SecretFilesProvider => "file",
            SecretStoreConfiguration store => store.SourceName,
            JsonConfigurationProvider json => Path.GetFileName(json.Source.Path) ?? "json",
            MemoryConfigurationProvider => ".env",
            _ => provider.GetType().Name,
        }))];

    private static string Format(object? value) => value switch
    {
        null => "(unset)",
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    /// <summary>Secrets (keys, tokens, secrets, passwords) are never printed; a URL keeps everything but its password.</summary>
    internal static string Mask(string key, string value)
    {
        if (value.Length == 0 || value == "(unset)")
        {
            return value;
        }

        if (SecretFiles.IsSecret(key) && !key.EndsWith("_URL", StringComparison.OrdinalIgnoreCase))
        {
            return Masked;
        }

        // A URL's password: everything between the user's ':' and the LAST '@' (a password with an unescaped '@' or '#'
        // is masked whole too; when in doubt, more is masked, never less).
        var scheme = value.IndexOf("://", StringComparison.Ordinal);
        var at = value.LastIndexOf('@');
        if (scheme > 0 && at > scheme)
        {
            var userInfo = value[(scheme + 3)..at];
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0)
            {
                return value[..(scheme + 3)] + userInfo[..colon] + ":" + Masked + value[at..];
            }
        }

        return value;
    }
}
