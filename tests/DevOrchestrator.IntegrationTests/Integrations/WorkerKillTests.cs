using System.Net;
using System.Text.Json;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.Hosting;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.IntegrationTests.Integrations;

/// <summary>
/// The production split with a real crash: the API in this process, the worker a separate <c>devorch serve --role
/// worker</c> process, killed (SIGKILL: no shutdown, no hand-back) while its Jira comment is in flight. A new worker
/// process takes the task over when the lease expires and finishes it; nothing is posted twice.
/// </summary>
public sealed class WorkerKillTests
{
    private static string Json(object value) => JsonSerializer.Serialize(value);

    [Fact]
    public async Task A_worker_killed_in_the_middle_of_the_tracker_steps_is_replaced_and_nothing_is_posted_twice()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var h = await IntegrationsHarness.StartAsync(Db.Postgres, ct, role: ServiceRole.Api);
        var ticket = h.Jira.AddIssue("APP", "Add a changelog", labels: ["ai-dev"]);
        h.Model.Enqueue(
            FakeReply.ToolCall("write_file", Json(new { path = "CHANGELOG.md", content = "# Changelog\n" })),
            FakeReply.ToolCall("finish", Json(new { summary = "Added CHANGELOG.md." })),
            FakeReply.Text(Json(new { verdict = "approve", reasons = Array.Empty<string>(), summary = "fine" })));
        h.Jira.Hang(TimeSpan.FromSeconds(120), count: 1, pathContains: $"/issue/{ticket.Key}/comment");

        var worker = await h.StartWorkerProcessAsync(ct);
        try
        {
            using var accepted = await h.PostJiraWebhookAsync(
                IntegrationsHarness.JiraIssueEvent(ticket.Key, "APP", "Add a changelog", "Create CHANGELOG.md.", "ai-dev"), "kill-1");
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            var taskId = (await accepted.ReadJsonAsync())["data"]!["task_id"]!.GetValue<long>();

            await HttpJson.EventuallyAsync(() => Task.FromResult(h.Jira.RequestsTo("POST", $"/rest/api/3/issue/{ticket.Key}/comment").Count), n => n >= 1, TimeSpan.FromSeconds(120));
            Assert.Single(h.GitHub.PullRequests("acme", "app"));
            worker.Kill(entireProcessTree: true);
            await worker.WaitForExitAsync(ct);

            var pending = await h.Service.WithDbAsync(db => db.ExternalEffects.AsNoTracking().SingleAsync(e => e.TaskId == taskId && e.Operation == "tracker_comment", ct));
            Assert.Equal("pending", pending.Status); // recorded before the call; the crash left its outcome unknown

            worker.Dispose();
            worker = await h.StartWorkerProcessAsync(ct);
            var task = await h.WaitFinishedAsync(taskId, TimeSpan.FromSeconds(150));
            Assert.True(task.Status == "completed", $"the task ended {task.Status}: {task.Error}");
            Assert.True(task.Attempts >= 2, "the second worker took the task over");

            var pr = Assert.Single(h.GitHub.PullRequests("acme", "app"));
            Assert.Single(h.GitHub.RequestsTo("POST", "/api/v3/repos/acme/app/pulls"));
            var issue = h.Jira.Issue(ticket.Key)!;
            var comment = Assert.Single(issue.Comments);
            Assert.Contains($"/pull/{pr.Number}", comment.Body.ToJsonString(), StringComparison.Ordinal);
            Assert.Equal("In Review", issue.Status);
            Assert.Equal(2, h.Jira.RequestsTo("POST", $"/rest/api/3/issue/{ticket.Key}/transitions").Count);
            var channel = h.Slack.Channels[IntegrationsHarness.Channel];
            await HttpJson.EventuallyAsync(() => Task.FromResult(channel.Messages.ToList()), m => m.Any(x => x.Text.Contains("— completed", StringComparison.Ordinal)), TimeSpan.FromSeconds(30));
            var root = Assert.Single(channel.Messages, m => m.ThreadTs is null || m.ThreadTs == m.Ts);
            Assert.Single(channel.Replies(root.Ts), m => m.Text.Contains("Pull request ready for review", StringComparison.Ordinal));
            Assert.Single(channel.Replies(root.Ts), m => m.Text.Contains("finished", StringComparison.Ordinal));
            Assert.Single(h.Confluence.Pages, p => p.Id != h.ParentPageId);
            Assert.Equal("completed", (await h.Service.WithDbAsync(db => db.ExternalEffects.AsNoTracking().SingleAsync(e => e.Id == pending.Id, ct))).Status);
        }
        finally
        {
            if (!worker.HasExited)
            {
                worker.Kill(entireProcessTree: true);
                await worker.WaitForExitAsync(CancellationToken.None);
            }

            worker.Dispose();
        }
    }
}
