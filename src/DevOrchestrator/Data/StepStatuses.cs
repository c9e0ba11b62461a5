namespace DevOrchestrator.Data;

public static class StepStatuses
{
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Skipped = "skipped";
    public const string RolledBack = "rolled_back";
    public const string Cancelled = "cancelled";
}
