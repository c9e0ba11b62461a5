namespace DevOrchestrator.Features.Plugins;

/// <summary>What <see cref="EncryptionKeyRotation.RotateAsync"/> re-encrypted: per column, and how many needed the previous key.</summary>
public sealed record EncryptionKeyRotationResult(int PluginConfigs, int TaskReplyUrls, int WithPreviousKey)
{
    public int Total => PluginConfigs + TaskReplyUrls;
}
