namespace DevOrchestrator.Data;

public static class ExternalEffectStatuses
{
    public const string Pending = "pending";
    public const string Completed = "completed";
    public const string Failed = "failed";
}
