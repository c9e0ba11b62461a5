namespace DevOrchestrator.Features.Auth;

public enum UserChangeOutcome
{
    Changed,
    NotFound,

    /// <summary>The change would leave no active admin.</summary>
    LastAdmin,

    /// <summary>The current password given to change it is not the user's password.</summary>
    WrongPassword,
}
