namespace DevOrchestrator.Hosting.SecretStores;

/// <summary>
/// The configuration layer of one secret store: filled by the read at start, replaced by every refresh that changed
/// something (and then reloaded, so the plugins' <c>IOptionsMonitor</c> settings follow without a restart).
/// </summary>
public sealed class SecretStoreConfiguration : ConfigurationProvider, IConfigurationSource
{
    /// <param name="initial">The read at start (a provider shared by several configurations keeps the latest values: nothing reloads it from here).</param>
    public SecretStoreConfiguration(ISecretStore store, SecretStoreSnapshot initial)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(initial);
        Store = store;
        Version = initial.Version;
        Data = Copy(initial.Values);
    }

    public ISecretStore Store { get; }

    /// <summary>The store's version of the values in effect (when the store has versions).</summary>
    public string? Version { get; private set; }

    /// <summary>The source name <c>devorch config show</c> prints, e.g. <c>vault:secret/data/devorch</c>.</summary>
    public string SourceName => Store.Name;

    public IConfigurationProvider Build(IConfigurationBuilder builder) => this;

    /// <summary>Replaces the values; reloads the configuration and returns the names of the changed settings when something changed (else empty).</summary>
    public IReadOnlyList<string> Replace(SecretStoreSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var next = Copy(snapshot.Values);
        var changed = next.Where(kv => !Data.TryGetValue(kv.Key, out var old) || old != kv.Value).Select(kv => kv.Key)
            .Concat(Data.Keys.Where(k => !next.ContainsKey(k)))
            .Order(StringComparer.Ordinal).ToList();
        Version = snapshot.Version;
        if (changed.Count > 0)
        {
            Data = next;
            OnReload();
        }

        return changed;
    }

    private static Dictionary<string, string?> Copy(IReadOnlyDictionary<string, string> values) =>
        values.ToDictionary(kv => kv.Key, kv => (string?)kv.Value, StringComparer.OrdinalIgnoreCase);
}
