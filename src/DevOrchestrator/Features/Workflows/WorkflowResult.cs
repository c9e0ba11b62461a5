using DevOrchestrator.Data;

namespace DevOrchestrator.Features.Workflows;

/// <summary>
/// What a run leaves in its task's <c>result</c>: the workflow, each step's status, and what the steps produced. Steps
/// contribute through outputs with the names below, read here and nowhere else: the branch the work was pushed to (the
/// last <c>branch</c> reported beside <c>pushed: true</c> by a completed step — the push — or by a step that pushed
/// before it failed — partial work kept when the budget ran out; a branch only prepared locally is never reported), the commit, the pull request, the development agent's summary
/// (a <c>summary</c> not beside a <c>verdict</c>) and the last review (the last step that reported a <c>verdict</c>).
/// </summary>
internal sealed record WorkflowResult(
    string Workflow,
    long WorkflowExecutionId,
    IReadOnlyList<KeyValuePair<string, string>> Steps,
    string? Branch,
    ReportedValue? CommitSha,
    string? PullRequestUrl,
    string? Summary,
    WorkflowReview? Review)
{
    public const string BranchOutput = "branch";
    public const string PushedOutput = "pushed";
    public const string CommitShaOutput = "commit_sha";
    public const string PullRequestUrlOutput = "pull_request_url";
    public const string SummaryOutput = "summary";
    public const string VerdictOutput = "verdict";

    /// <summary>The result of steps in the order they first ran, each in its latest state.</summary>
    public static WorkflowResult Of(string workflow, long workflowExecutionId, IReadOnlyList<KeyValuePair<string, WorkflowStepState>> steps)
    {
        var completed = steps.Where(s => s.Value.Status == StepStatuses.Completed).Select(s => s.Value.Outputs).ToList();
        var commit = completed.LastOrDefault(o => o.ContainsKey(CommitShaOutput));
        var review = steps.Select(s => s.Value.Outputs).LastOrDefault(o => o.ContainsKey(VerdictOutput));
        return new WorkflowResult(
            workflow,
            workflowExecutionId,
            [.. steps.Select(s => KeyValuePair.Create(s.Key, s.Value.Status))],
            Branch: steps.Where(s => s.Value.Status is StepStatuses.Completed or StepStatuses.Failed)
                .Select(s => s.Value.Outputs)
                .Where(o => o.TryGetValue(PushedOutput, out var pushed) && pushed is true)
                .Select(o => Text(o, BranchOutput)).LastOrDefault(b => b is not null),
            CommitSha: commit is null ? null : new ReportedValue(commit[CommitShaOutput]),
            PullRequestUrl: completed.Select(o => Text(o, PullRequestUrlOutput)).LastOrDefault(u => u is not null),
            Summary: completed.Where(o => !o.ContainsKey(VerdictOutput)).Select(o => Text(o, SummaryOutput)).LastOrDefault(s => s is not null),
            Review: review is null ? null : new WorkflowReview(review[VerdictOutput], review.GetValueOrDefault("reasons"), review.GetValueOrDefault(SummaryOutput), review.GetValueOrDefault("sent_back")));
    }

    /// <summary>The task's <c>result</c> as stored: <c>branch</c> always (null when none), the other products only when a step reported them.</summary>
    public Dictionary<string, object?> ToJsonObject()
    {
        var result = new Dictionary<string, object?>
        {
            ["workflow"] = Workflow,
            ["workflow_execution_id"] = WorkflowExecutionId,
            ["branch"] = Branch,
            ["steps"] = Steps.ToDictionary(s => s.Key, s => (object?)s.Value, StringComparer.Ordinal),
        };
        if (CommitSha is { } commit)
        {
            result[CommitShaOutput] = commit.Value;
        }

        if (PullRequestUrl is not null)
        {
            result[PullRequestUrlOutput] = PullRequestUrl;
        }

        if (Summary is not null)
        {
            result[SummaryOutput] = Summary;
        }

        if (Review is { } review)
        {
            result["review"] = new Dictionary<string, object?>
            {
                ["verdict"] = review.Verdict,
                ["reasons"] = review.Reasons,
                ["summary"] = review.Summary,
                ["sent_back"] = review.SentBack,
            };
        }

        return result;
    }

    private static string? Text(IReadOnlyDictionary<string, object?> outputs, string name) =>
        outputs.TryGetValue(name, out var value) && value is string { Length: > 0 } text ? text : null;
}

/// <summary>A value a step reported, kept as it was (it may itself be null: the step reported it empty).</summary>
internal readonly record struct ReportedValue(object? Value);

/// <summary>The run's last review, its values as the review step reported them.</summary>
internal sealed record WorkflowReview(object? Verdict, object? Reasons, object? Summary, object? SentBack);
