using DevOrchestrator.Data;

namespace DevOrchestrator.Features.Auth;

/// <summary>What <see cref="UserAccounts.ChangeAsync"/> did, and the user as it is now.</summary>
public sealed record UserChange(UserChangeOutcome Outcome, User? User);
