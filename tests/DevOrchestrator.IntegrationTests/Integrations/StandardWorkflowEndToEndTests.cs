using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.IntegrationTests.Integrations;

/// <summary>
/// The issue's end-to-end run: a Jira webhook → a task → the agents (fake model) → a real branch in the bare repository
/// (pushed over git's smart HTTP with the token per command) → a pull request on the fake GitHub → a Jira comment and
/// transitions → a Slack thread → a Confluence page; then feedback on the pull request re-runs the agent on the same
/// branch and updates the one pull request; then a second ticket's run is interrupted by a worker restart in the middle
/// of its tracker comment, and nothing is posted twice.
/// </summary>
public sealed class StandardWorkflowEndToEndTests
{
    private static string Json(object value) => JsonSerializer.Serialize(value);

    private static FakeTextReply Approve(string summary) => FakeReply.Text(Json(new { verdict = "approve", reasons = Array.Empty<string>(), summary }));

    [Fact]
    public async Task A_Jira_ticket_runs_the_whole_standard_workflow_and_a_restart_in_the_middle_posts_nothing_twice()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var h = await IntegrationsHarness.StartAsync(Db.Postgres, ct);

        // ---- Run 1: a ticket arrives by webhook and goes all the way.
        var ticket = h.Jira.AddIssue("APP", "Add a greeting file", labels: ["ai-dev"]);
        h.Model.Enqueue(
            FakeReply.ToolCall("write_file", Json(new { path = "hello.txt", content = "Hello, integrations\n" })),
            FakeReply.ToolCall("finish", Json(new { summary = "Added hello.txt with a greeting." })),
            Approve("small and correct"));
        var body = IntegrationsHarness.JiraIssueEvent(ticket.Key, "APP", "Add a greeting file", "Create hello.txt saying hello.", "ai-dev");
        using var accepted = await h.PostJiraWebhookAsync(body, "delivery-1");
        var acceptedJson = await accepted.ReadJsonAsync();
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var taskId = acceptedJson["data"]!["task_id"]!.GetValue<long>();

        var task = await h.WaitFinishedAsync(taskId);
        Assert.True(task.Status == "completed", $"task ended {task.Status}: {task.Error}");
        Assert.Equal("jira", task.Source);
        Assert.Equal(ticket.Key, task.ExternalId);
        var branch = task.Branch!;

        // The branch is real, in the bare repository behind the fake GitHub.
        Assert.Equal("Hello, integrations", await GitFixtures.GitAsync(h.BareRepository, ct, "show", $"{branch}:hello.txt"));

        // git talked over HTTP with the token in a per-command Authorization header — never in a URL.
        var gitRequests = h.GitHub.Requests.Where(r => r.Path.Contains(".git/", StringComparison.Ordinal)).ToList();
        Assert.Contains(gitRequests, r => r.Path.EndsWith("/git-receive-pack", StringComparison.Ordinal) && r.StatusCode == 200);
        var expectedGitAuth = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("x-access-token:" + IntegrationsHarness.GitHubToken));
        Assert.All(gitRequests.Where(r => r.StatusCode == 200), r => Assert.Equal(expectedGitAuth, r.Headers["Authorization"]));
        Assert.All(h.GitHub.Requests, r => Assert.DoesNotContain(IntegrationsHarness.GitHubToken, r.Path + r.Query, StringComparison.Ordinal));

        // One pull request, from the task branch to main, describing the work and the review.
        var pr = Assert.Single(h.GitHub.PullRequests("acme", "app"));
        Assert.Equal(branch, pr.Head);
        Assert.Equal("main", pr.Base);
        Assert.Equal("Add a greeting file", pr.Title);
        Assert.Contains("Added hello.txt with a greeting.", pr.Body, StringComparison.Ordinal);
        Assert.Contains("approve", pr.Body, StringComparison.Ordinal);
        var prUrl = h.GitHub.WebUrl("acme", "app") + "/pull/" + pr.Number;

        // What the guide's clients read: data.status and data.result.pr_url of the task, and of its agent's status.
        var shown = (await (await h.Client.GetAsync($"/api/v1/tasks/{taskId}", ct)).ReadJsonAsync())["data"]!;
        Assert.Equal("completed", (string?)shown["status"]);
        Assert.Equal(prUrl, (string?)shown["result"]!["pr_url"]);
        Assert.Equal(branch, (string?)shown["result"]!["branch"]);
        var agentStatus = (await (await h.Client.GetAsync($"/api/v1/agents/status?task_id={taskId}", ct)).ReadJsonAsync())["data"]!;
        Assert.Equal(prUrl, (string?)agentStatus["result"]!["pr_url"]);
        Assert.Equal((int)agentStatus["progress"]!["steps_total"]!, (int)agentStatus["progress"]!["steps_done"]!);

        // Jira: fetched, moved to In Progress then In Review, one comment with the pull request's link.
        Assert.NotEmpty(h.Jira.RequestsTo("GET", $"/rest/api/3/issue/{ticket.Key}"));
        var issue = h.Jira.Issue(ticket.Key)!;
        Assert.Equal("In Review", issue.Status);
        Assert.Contains("In Progress", issue.StatusHistory);
        var comment = Assert.Single(issue.Comments);
        Assert.Contains(prUrl, comment.Body.ToJsonString(), StringComparison.Ordinal);

        // Slack: one thread for the task — its root (updated to completed), the milestone, the final word with PR and cost
        // (posted just after the task's status is committed, so wait for it).
        var channel = h.Slack.Channels[IntegrationsHarness.Channel];
        await HttpJson.EventuallyAsync(() => Task.FromResult(channel.Messages.ToList()), m => m.Any(x => x.Text.Contains("— completed", StringComparison.Ordinal)), TimeSpan.FromSeconds(30));
        var root = Assert.Single(channel.Messages, m => m.ThreadTs is null || m.ThreadTs == m.Ts);
        Assert.Contains($"#{taskId}", root.Text, StringComparison.Ordinal);
        Assert.Contains("completed", root.Text, StringComparison.Ordinal);
        var replies = channel.Replies(root.Ts).Where(m => m.Ts != root.Ts).ToList();
        Assert.Equal(2, replies.Count);
        Assert.Contains(replies, m => m.Text.Contains("Pull request ready for review", StringComparison.Ordinal) && m.Text.Contains(prUrl, StringComparison.Ordinal));
        Assert.Contains(replies, m => m.Text.Contains("finished", StringComparison.Ordinal) && m.Text.Contains(prUrl, StringComparison.Ordinal) && m.Text.Contains("Cost: $", StringComparison.Ordinal));

        // Confluence: one page for the task, under the project's parent, with the pull request and the verdict.
        var page = Assert.Single(h.Confluence.Pages, p => p.Id != h.ParentPageId);
        Assert.Equal($"Task {taskId}: Add a greeting file", page.Title);
        Assert.Equal(h.ParentPageId, page.ParentId);
        Assert.Equal(1, page.Version);
        Assert.Contains(prUrl, page.Versions[^1].Body, StringComparison.Ordinal);
        Assert.Contains("approve", page.Versions[^1].Body, StringComparison.Ordinal);

        // Every write was recorded, completed.
        var effects = await h.Service.WithDbAsync(db => db.ExternalEffects.AsNoTracking().Where(e => e.TaskId == taskId).ToListAsync(ct));
        Assert.All(effects, e => Assert.Equal("completed", e.Status));
        Assert.Equal(["chat_finished", "chat_message", "chat_thread", "doc_page", "pull_request", "push", "tracker_comment", "tracker_transition"],
            effects.Select(e => e.Operation == "chat_message" && e.Key.Contains(":chat_finished:", StringComparison.Ordinal) ? "chat_finished" : e.Operation).Distinct().Order().ToArray());

        // The same delivery again (a replay: 409), and the same ticket by another delivery (200): no second task.
        using (var again = await h.PostJiraWebhookAsync(body, "delivery-1"))
        {
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
            Assert.Contains("delivery-1 was already received", (string?)(await again.ReadJsonAsync())["error"]!["message"], StringComparison.Ordinal);
        }

        using (var other = await h.PostJiraWebhookAsync(body, "delivery-1b"))
        {
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);
            Assert.Equal("task_exists", (string?)(await other.ReadJsonAsync())["data"]!["outcome"]);
        }

        Assert.Equal(1, await h.TaskCountAsync());

        // ---- Run 2: "/devorch …" on the pull request sends the agent back to the same branch; the one PR is updated.
        h.Model.Enqueue(
            FakeReply.ToolCall("write_file", Json(new { path = "NOTES.md", content = "greeting added\n" })),
            FakeReply.ToolCall("finish", Json(new { summary = "Added NOTES.md as asked in the review." })),
            Approve("notes added"));
        using (var feedback = await PostGitHubAsync(h, "issue_comment", "gh-delivery-1", GitHubPullRequestComment(h, pr.Number, "/devorch please add a NOTES.md")))
        {
            var json = await feedback.ReadJsonAsync();
            Assert.True(feedback.StatusCode == HttpStatusCode.Accepted, json.ToJsonString());
            Assert.Equal(taskId, json["data"]!["task_id"]!.GetValue<long>());
        }

        await HttpJson.EventuallyAsync(() => h.Service.WithDbAsync(db => db.Tasks.AsNoTracking().SingleAsync(t => t.Id == taskId)), t => t.Status == "queued" || t.Status == "running" || t.Attempts > 1, TimeSpan.FromSeconds(30));
        task = await h.WaitFinishedAsync(taskId);
        Assert.True(task.Status == "completed", $"the feedback run ended {task.Status}: {task.Error}");
        await HttpJson.EventuallyAsync(() => Task.FromResult(channel.Replies(root.Ts).Count), n => n >= 4, TimeSpan.FromSeconds(30));
        Assert.Equal(branch, task.Branch);
        Assert.Equal("Hello, integrations", await GitFixtures.GitAsync(h.BareRepository, ct, "show", $"{branch}:hello.txt"));
        Assert.Equal("greeting added", await GitFixtures.GitAsync(h.BareRepository, ct, "show", $"{branch}:NOTES.md"));
        pr = Assert.Single(h.GitHub.PullRequests("acme", "app"));
        Assert.Contains("Added NOTES.md as asked in the review.", pr.Body, StringComparison.Ordinal);
        Assert.Single(h.GitHub.RequestsTo("POST", "/api/v3/repos/acme/app/pulls"));
        Assert.Equal(2, h.Jira.Issue(ticket.Key)!.Comments.Count);
        Assert.Single(channel.Messages, m => m.ThreadTs is null || m.ThreadTs == m.Ts); // still one thread for the task
        page = Assert.Single(h.Confluence.Pages, p => p.Id != h.ParentPageId);
        Assert.Equal(2, page.Version);

        // ---- Run 3: a second ticket; the worker restarts while its Jira comment is in flight.
        var second = h.Jira.AddIssue("APP", "Add a farewell file", labels: ["ai-dev"]);
        h.Model.Enqueue(
            FakeReply.ToolCall("write_file", Json(new { path = "bye.txt", content = "Goodbye\n" })),
            FakeReply.ToolCall("finish", Json(new { summary = "Added bye.txt." })),
            Approve("fine"));
        h.Jira.Hang(TimeSpan.FromSeconds(120), count: 1, pathContains: $"/issue/{second.Key}/comment");
        using var accepted2 = await h.PostJiraWebhookAsync(IntegrationsHarness.JiraIssueEvent(second.Key, "APP", "Add a farewell file", "Create bye.txt.", "ai-dev"), "delivery-2");
        Assert.Equal(HttpStatusCode.Accepted, accepted2.StatusCode);
        var taskId2 = (await accepted2.ReadJsonAsync())["data"]!["task_id"]!.GetValue<long>();
        await HttpJson.EventuallyAsync(() => Task.FromResult(h.Jira.RequestsTo("POST", $"/rest/api/3/issue/{second.Key}/comment").Count), n => n >= 1, TimeSpan.FromSeconds(120));
        Assert.Single(h.GitHub.PullRequests("acme", "app"), p => p.Head != branch); // its PR exists before the restart

        await h.RestartAsync(ct);
        var task2 = await h.WaitFinishedAsync(taskId2);
        Assert.True(task2.Status == "completed", $"the resumed task ended {task2.Status}: {task2.Error}");
        await HttpJson.EventuallyAsync(() => Task.FromResult(channel.Messages.ToList()), m => m.Any(x => x.Text.Contains($"#{taskId2}", StringComparison.Ordinal) && x.Text.Contains("— completed", StringComparison.Ordinal)), TimeSpan.FromSeconds(30));
        Assert.True(task2.Attempts >= 2, "the task was resumed by the new worker");

        // Nothing twice: one PR (one POST), one comment, two transitions, one thread with one milestone and one final reply, one page.
        var pr2 = Assert.Single(h.GitHub.PullRequests("acme", "app"), p => p.Head == task2.Branch);
        Assert.Equal(2, h.GitHub.RequestsTo("POST", "/api/v3/repos/acme/app/pulls").Count); // run 1 and run 3, none for the resume
        var issue2 = h.Jira.Issue(second.Key)!;
        var comment2 = Assert.Single(issue2.Comments);
        Assert.Contains($"/pull/{pr2.Number}", comment2.Body.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal("In Review", issue2.Status);
        Assert.Equal(2, h.Jira.RequestsTo("POST", $"/rest/api/3/issue/{second.Key}/transitions").Count);
        var root2 = Assert.Single(channel.Messages, m => (m.ThreadTs is null || m.ThreadTs == m.Ts) && m.Text.Contains($"#{taskId2}", StringComparison.Ordinal));
        var replies2 = channel.Replies(root2.Ts).Where(m => m.Ts != root2.Ts).ToList();
        Assert.Single(replies2, m => m.Text.Contains("Pull request ready for review", StringComparison.Ordinal));
        Assert.Single(replies2, m => m.Text.Contains("finished", StringComparison.Ordinal));
        Assert.Single(h.Confluence.Pages, p => p.Title == $"Task {taskId2}: Add a farewell file");

        // No secret anywhere on disk (worktrees, mirrors, git config, data) or in the events.
        // h.Root holds the bare repositories; the service's root its data directory, mirrors and worktrees.
        var files = Directory.EnumerateFiles(h.Root, "*", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(h.Service.State.Root, "*", SearchOption.AllDirectories)).ToList();
        Assert.Contains(files, f => f.Contains("/workspaces/mirrors/", StringComparison.Ordinal) && f.EndsWith("/config", StringComparison.Ordinal));
        // (A mirror's lock file is empty and may be held by a worktree being returned to the pool right now; that return
        // also resets the worktree, so a file listed a moment ago may be gone: nothing left on disk holds no secret.)
        foreach (var file in files.Where(f => !f.EndsWith(".git.lock", StringComparison.Ordinal)))
        {
            string text;
            try
            {
                if (new FileInfo(file).Length >= 5_000_000)
                {
                    continue;
                }

                text = await File.ReadAllTextAsync(file, ct);
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                continue;
            }

            foreach (var secret in h.Secrets)
            {
                Assert.False(text.Contains(secret, StringComparison.Ordinal), $"{file} contains a secret");
            }
        }

        var events = await h.Service.WithDbAsync(db => db.Events.AsNoTracking().Select(e => e.Payload).ToListAsync(ct));
        Assert.All(events, payload => Assert.All(h.Secrets, secret => Assert.DoesNotContain(secret, payload ?? "", StringComparison.Ordinal)));
    }

    internal static byte[] GitHubPullRequestComment(IntegrationsHarness h, int number, string comment) =>
        Encoding.UTF8.GetBytes(new JsonObject
        {
            ["action"] = "created",
            ["issue"] = new JsonObject
            {
                ["number"] = number,
                ["title"] = "a pull request",
                ["body"] = "",
                ["html_url"] = h.GitHub.WebUrl("acme", "app") + "/pull/" + number,
                ["pull_request"] = new JsonObject { ["url"] = $"{h.GitHub.ApiUrl}/repos/acme/app/pulls/{number}" },
                ["labels"] = new JsonArray(),
                ["user"] = new JsonObject { ["login"] = "octocat" },
            },
            ["comment"] = new JsonObject { ["id"] = 99, ["body"] = comment, ["user"] = new JsonObject { ["login"] = "octocat" } },
            ["repository"] = new JsonObject
            {
                ["full_name"] = "acme/app",
                ["name"] = "app",
                ["owner"] = new JsonObject { ["login"] = "acme" },
                ["html_url"] = h.GitHub.WebUrl("acme", "app"),
                ["clone_url"] = h.RepositoryUrl,
            },
            ["sender"] = new JsonObject { ["login"] = "octocat" },
        }.ToJsonString());

    internal static async Task<HttpResponseMessage> PostGitHubAsync(IntegrationsHarness h, string eventName, string deliveryId, byte[] body, string secret = IntegrationsHarness.GitHubWebhookSecret)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/github") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Add("X-GitHub-Event", eventName);
        request.Headers.Add("X-GitHub-Delivery", deliveryId);
        request.Headers.Add("X-Hub-Signature-256", "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body)));
        using var anonymous = new HttpClient { BaseAddress = h.Service.Address };
        return await anonymous.SendAsync(request);
    }
}
