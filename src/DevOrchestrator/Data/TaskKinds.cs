namespace DevOrchestrator.Data;

public static class TaskKinds
{
    public const string Task = "task";
    public const string Epic = "epic";

    public static readonly IReadOnlyList<string> All = [Task, Epic];
}
