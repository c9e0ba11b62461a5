namespace DevOrchestrator.Data;

public static class TaskSources
{
    public const string Api = "api";
    public const string Cli = "cli";
    public const string GitHub = "github";
    public const string Jira = "jira";
    public const string Slack = "slack";
    public const string Plan = "plan";

    public static readonly IReadOnlyList<string> All = [Api, Cli, GitHub, Jira, Slack, Plan];
}
