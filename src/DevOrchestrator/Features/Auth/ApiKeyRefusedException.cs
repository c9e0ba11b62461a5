namespace DevOrchestrator.Features.Auth;

/// <summary>An API key was presented but cannot be used (unknown, revoked or expired); the message says which, never the key.</summary>
public sealed class ApiKeyRefusedException(string message) : Exception(message);
