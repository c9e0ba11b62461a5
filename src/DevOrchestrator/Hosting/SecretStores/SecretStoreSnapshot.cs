namespace DevOrchestrator.Hosting.SecretStores;

/// <summary>What one read of a store gave: the settings and the store's own version of them (Vault's version number), when it has one.</summary>
public sealed record SecretStoreSnapshot(IReadOnlyDictionary<string, string> Values, string? Version);
