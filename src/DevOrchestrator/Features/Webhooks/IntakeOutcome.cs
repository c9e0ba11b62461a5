namespace DevOrchestrator.Features.Webhooks;

/// <summary>What the intake did with an item.</summary>
public enum IntakeOutcome
{
    TaskCreated,
    TaskExists,
    FeedbackQueued,
    Duplicate,
    Ignored,
    UnknownProject,
    UnknownPullRequest,
    TaskBusy,
}
