namespace DevOrchestrator.Data;

public static class AgentStatuses
{
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Stopped = "stopped";
    /// <summary>The worker died under it; the task was handed to another run.</summary>
    public const string Abandoned = "abandoned";
}
