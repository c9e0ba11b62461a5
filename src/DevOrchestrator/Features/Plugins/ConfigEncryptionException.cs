namespace DevOrchestrator.Features.Plugins;

public sealed class ConfigEncryptionException : Exception
{
    public ConfigEncryptionException() { }
    public ConfigEncryptionException(string message) : base(message) { }
    public ConfigEncryptionException(string message, Exception innerException) : base(message, innerException) { }
}
