namespace DevOrchestrator.Features.Workflows;

public static class OnErrorPolicies
{
    public const string Fail = "fail";
    public const string Retry = "retry";
    public const string Continue = "continue";
    public const string Rollback = "rollback";

    public static readonly IReadOnlyList<string> All = [Fail, Retry, Continue, Rollback];
}
