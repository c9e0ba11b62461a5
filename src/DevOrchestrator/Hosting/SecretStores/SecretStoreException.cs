namespace DevOrchestrator.Hosting.SecretStores;

/// <summary>A store could not be read. The message names the store's setting, address and the status; never a secret.</summary>
public sealed class SecretStoreException : Exception
{
    public SecretStoreException()
    {
    }

    public SecretStoreException(string message) : base(message)
    {
    }

    public SecretStoreException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
