namespace DevOrchestrator.Features.Auth;

public enum UserChangeOutcome
{
    Changed,
    NotFound,

    /// <summary>The change would leave no active admin.</summary>
    LastAdmin,
}
