using System.Net;
using System.Text.Json;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.Hosting;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.IntegrationTests.Integrations;

/// <summary>
/// The production split with a real crash: the API in this process, the worker a separate <c>devorch serve --role
/// worker</c> process, killed (SIGKILL: no shutdown, no hand-back) while its Jira comment is in flight. Jira processes
/// that comment after the crash (a vendor finishes a request it has received), then a new worker process takes the task
/// over when the lease expires, finds the comment by its idempotency key and finishes; nothing is posted twice.
/// <para>
/// (The test used to hold the comment with a 120 s delay and relied on the fake dropping it when the killed client's
/// connection closed; when that close went unnoticed the delayed comment landed after the takeover's, 70 ms apart. Now
/// the test decides when the dead worker's comment lands: deterministically before the takeover looks.)
/// </para>
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
        var inFlight = h.Jira.Hold(pathContains: $"/issue/{ticket.Key}/comment");

        var worker = await h.StartProcessAsync(ServiceRole.Worker, ct);
        try
        {
            using var accepted = await h.PostJiraWebhookAsync(
                IntegrationsHarness.JiraIssueEvent(ticket.Key, "APP", "Add a changelog", "Create CHANGELOG.md.", "ai-dev"), "kill-1");
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            var taskId = (await accepted.ReadJsonAsync())["data"]!["task_id"]!.GetValue<long>();

            await inFlight.Arrived.WaitAsync(TimeSpan.FromSeconds(120), ct);
            Assert.Single(h.GitHub.PullRequests("acme", "app"));
            await worker.KillAsync();

            var pending = await h.Service.WithDbAsync(db => db.ExternalEffects.AsNoTracking().SingleAsync(e => e.TaskId == taskId && e.Operation == "tracker_comment", ct));
            Assert.Equal("pending", pending.Status); // recorded before the call; the crash left its outcome unknown

            // Jira processes the dead worker's comment after the crash, before anyone looks.
            inFlight.Release();
            await inFlight.Done.WaitAsync(TimeSpan.FromSeconds(30), ct);
            Assert.Single(h.Jira.Issue(ticket.Key)!.Comments);

            await worker.DisposeAsync();
            worker = await h.StartProcessAsync(ServiceRole.Worker, ct);
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
            await worker.DisposeAsync();
        }
    }
}
