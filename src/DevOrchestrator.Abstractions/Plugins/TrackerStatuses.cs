namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>The logical statuses a workflow names; each tracker plugin maps them to its own.</summary>
public static class TrackerStatuses
{
    public const string Todo = "todo";
    public const string InProgress = "in_progress";
    public const string InReview = "in_review";
    public const string Done = "done";
}
