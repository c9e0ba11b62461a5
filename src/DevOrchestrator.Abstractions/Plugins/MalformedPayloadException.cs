namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>A payload that is not what the vendor documents (answered 400, no task made).</summary>
public sealed class MalformedPayloadException : Exception
{
    public MalformedPayloadException() { }
    public MalformedPayloadException(string message) : base(message) { }
    public MalformedPayloadException(string message, Exception innerException) : base(message, innerException) { }
}
