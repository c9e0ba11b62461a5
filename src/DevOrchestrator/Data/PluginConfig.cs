namespace DevOrchestrator.Data;

/// <summary>
/// A plugin's configuration stored through <c>PUT /api/v1/plugins/{type}/{name}/config</c>: its settings by
/// environment variable name, as one JSON object encrypted with AES-GCM under <c>ENCRYPTION_KEY</c>
/// (<see cref="Features.Plugins.ConfigEncryption"/>). Stored values win over the environment.
/// </summary>
public sealed class PluginConfig
{
    public long Id { get; set; }
    public required string Type { get; set; }
    public required string Name { get; set; }

    /// <summary><c>v1:</c> + base64(nonce ‖ tag ‖ ciphertext) of the JSON object of values.</summary>
    public required string EncryptedValues { get; set; }
    public long? UpdatedByUserId { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}
