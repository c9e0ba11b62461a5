namespace DevOrchestrator.Features.Auth;

/// <summary>A token issued under an older <see cref="Data.User.TokenVersion"/>: the user logged out or their tokens were revoked.</summary>
public sealed class TokenRevokedException() : Exception("The bearer token was revoked.");
