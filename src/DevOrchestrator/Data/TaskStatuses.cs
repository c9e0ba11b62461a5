namespace DevOrchestrator.Data;

public static class TaskStatuses
{
    public const string Pending = "pending";
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    /// <summary>A model call would have broken the task's or the month's budget; partial work is committed on its branch.</summary>
    public const string BudgetExceeded = "budget_exceeded";

    public static readonly IReadOnlyList<string> All = [Pending, Queued, Running, Completed, Failed, Cancelled, BudgetExceeded];

    public static bool IsFinished(string status) => status is Completed or Failed or Cancelled or BudgetExceeded;
}
