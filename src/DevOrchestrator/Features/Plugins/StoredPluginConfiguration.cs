namespace DevOrchestrator.Features.Plugins;

/// <summary>
/// The configuration layer of stored plugin settings, above the environment, <c>.env</c> and appsettings: plugins
/// bind their settings from the root configuration and follow its reloads, so a stored change reaches them without a
/// restart. Filled by <see cref="PluginConfigStore"/> at start, after every change, and every 30 seconds (changes made
/// through another replica).
/// </summary>
public sealed class StoredPluginConfiguration : ConfigurationProvider, IConfigurationSource
{
    public IConfigurationProvider Build(IConfigurationBuilder builder) => this;

    /// <summary>Replaces the stored values; reloads the configuration only when something changed.</summary>
    public void Replace(IReadOnlyDictionary<string, string?> values)
    {
        var next = new Dictionary<string, string?>(values, StringComparer.OrdinalIgnoreCase);
        if (next.Count == Data.Count && next.All(kv => Data.TryGetValue(kv.Key, out var old) && old == kv.Value))
        {
            return;
        }

        Data = next;
        OnReload();
    }
}
