namespace DevOrchestrator.Hosting.SecretStores;

/// <summary>An external store of settings: one read gives every setting it holds, by its environment variable name.</summary>
public interface ISecretStore : IAsyncDisposable
{
    /// <summary>How <c>devorch config show</c> and the logs name the store, e.g. <c>vault:secret/data/devorch</c> (never a secret).</summary>
    string Name { get; }

    /// <summary>How often the store is read again.</summary>
    TimeSpan RefreshInterval { get; }

    /// <summary>
    /// Reads every setting the store holds. Throws <see cref="SecretStoreException"/> with a message naming the store,
    /// its address and the status — never a token or a value.
    /// </summary>
    Task<SecretStoreSnapshot> ReadAsync(CancellationToken cancellationToken);
}
