using System.Text.Json;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Workflows;
using DevOrchestrator.Hosting;

namespace DevOrchestrator.UnitTests.Workflows;

/// <summary>The task's <c>result</c> is public JSON: these pin its shape.</summary>
public sealed class WorkflowResultTests
{
    private static KeyValuePair<string, WorkflowStepState> Step(string name, string status, Dictionary<string, object?>? outputs = null) =>
        KeyValuePair.Create(name, new WorkflowStepState(status, outputs ?? []));

    private static string Json(WorkflowResult result) => JsonSerializer.Serialize(result.ToJsonObject(), JsonDefaults.Options);

    [Fact]
    public void TakesTheLastBranchCommitPullRequestSummaryAndReviewTheStepsReported()
    {
        var result = WorkflowResult.Of("feature", 7,
        [
            Step("prepare", StepStatuses.Completed, new() { ["branch"] = "devorch/task-1", ["worktree"] = "/w" }),
            Step("develop", StepStatuses.Completed, new() { ["summary"] = "added the endpoint", ["turns"] = 3L }),
            Step("commit", StepStatuses.Completed, new() { ["committed"] = true, ["commit_sha"] = "abc" }),
            Step("push", StepStatuses.Completed, new() { ["pushed"] = true, ["branch"] = "devorch/task-1-pushed", ["commit_sha"] = "def" }),
            Step("pull_request", StepStatuses.Completed, new() { ["pull_request_url"] = "https://example.test/pr/1" }),
            Step("review", StepStatuses.Failed, new() { ["verdict"] = "changes_requested", ["reasons"] = new List<object?> { "no test" }, ["summary"] = "needs a test", ["sent_back"] = true }),
            Step("notify", StepStatuses.Skipped, new() { ["skipped"] = true, ["branch"] = "ignored" }),
        ]);

        Assert.Equal("devorch/task-1-pushed", result.Branch);
        Assert.Equal(
            """{"workflow":"feature","workflow_execution_id":7,"branch":"devorch/task-1-pushed","steps":{"prepare":"completed","develop":"completed","commit":"completed","push":"completed","pull_request":"completed","review":"failed","notify":"skipped"},"commit_sha":"def","pull_request_url":"https://example.test/pr/1","summary":"added the endpoint","review":{"verdict":"changes_requested","reasons":["no test"],"summary":"needs a test","sent_back":true}}""",
            Json(result));
    }

    [Fact]
    public void KeepsANullBranchAndAReportedNullCommitButNothingFromStepsNotCompleted()
    {
        var result = WorkflowResult.Of("plain", 1,
        [
            Step("prepare", StepStatuses.RolledBack, new() { ["branch"] = "devorch/task-2" }),
            Step("commit", StepStatuses.Completed, new() { ["commit_sha"] = null }),
            Step("develop", StepStatuses.Failed, new() { ["summary"] = "half done" }),
            Step("review", StepStatuses.Completed, new() { ["verdict"] = "approve", ["summary"] = "fine" }),
            Step("pull_request", StepStatuses.Completed, new() { ["pull_request_url"] = "" }),
        ]);

        Assert.Null(result.Branch);
        Assert.Equal(
            """{"workflow":"plain","workflow_execution_id":1,"branch":null,"steps":{"prepare":"rolled_back","commit":"completed","develop":"failed","review":"completed","pull_request":"completed"},"commit_sha":null,"review":{"verdict":"approve","reasons":null,"summary":"fine","sent_back":null}}""",
            Json(result));
    }

    [Fact]
    public void ABranchOnlyPreparedAndNeverPushedIsNotReported()
    {
        // The verify step failed: the branch exists only in the worktree; nothing was pushed, so no branch is reported.
        var result = WorkflowResult.Of("standard_dev_workflow", 4,
        [
            Step("prepare", StepStatuses.Completed, new() { ["branch"] = "devorch/task-4", ["worktree"] = "/w", ["setup"] = "ran" }),
            Step("implement", StepStatuses.Completed, new() { ["summary"] = "done" }),
            Step("verify", StepStatuses.Failed, new() { ["passed"] = false, ["command"] = "npm test" }),
            Step("push", StepStatuses.RolledBack, new() { ["pushed"] = true, ["branch"] = "devorch/task-4" }),
        ]);

        Assert.Null(result.Branch);
        Assert.Null(result.ToJsonObject()["branch"]);
    }

    [Fact]
    public void PartialWorkPushedByAStepThatThenFailedIsReported()
    {
        var result = WorkflowResult.Of("standard_dev_workflow", 5,
        [
            Step("prepare", StepStatuses.Completed, new() { ["branch"] = "devorch/task-5" }),
            Step("implement", StepStatuses.Failed, new() { ["pushed"] = true, ["branch"] = "devorch/task-5", ["commit_sha"] = "abc" }),
        ]);

        Assert.Equal("devorch/task-5", result.Branch);
    }

    [Fact]
    public void AnEmptyRunHasOnlyTheWorkflowAndANullBranch()
    {
        Assert.Equal("""{"workflow":"w","workflow_execution_id":3,"branch":null,"steps":{}}""", Json(WorkflowResult.Of("w", 3, [])));
    }
}
