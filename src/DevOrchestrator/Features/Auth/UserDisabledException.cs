namespace DevOrchestrator.Features.Auth;

/// <summary>A valid token whose user has been disabled (or deleted): authentication fails with 401.</summary>
public sealed class UserDisabledException() : Exception("The user is disabled.");
