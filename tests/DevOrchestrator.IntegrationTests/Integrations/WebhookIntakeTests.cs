using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.IntegrationTests.Integrations;

/// <summary>
/// Intake: signed deliveries become one task each; bad signatures, replays, unknown projects and malformed payloads
/// are answered 4xx and leave no task behind.
/// </summary>
public sealed class WebhookIntakeTests
{
    private static string Json(object value) => JsonSerializer.Serialize(value);

    private static byte[] GitHubIssueLabeled(IntegrationsHarness h, string repository, int number, string title, string label = "devorch") =>
        Encoding.UTF8.GetBytes(new JsonObject
        {
            ["action"] = "labeled",
            ["label"] = new JsonObject { ["name"] = label },
            ["issue"] = new JsonObject
            {
                ["number"] = number,
                ["title"] = title,
                ["body"] = "Please do it.",
                ["html_url"] = h.GitHub.WebUrl("acme", repository) + "/issues/" + number,
                ["labels"] = new JsonArray(new JsonObject { ["name"] = label }),
                ["user"] = new JsonObject { ["login"] = "octocat" },
            },
            ["repository"] = new JsonObject
            {
                ["full_name"] = "acme/" + repository,
                ["name"] = repository,
                ["owner"] = new JsonObject { ["login"] = "acme" },
                ["html_url"] = h.GitHub.WebUrl("acme", repository),
                ["clone_url"] = h.GitHub.CloneUrl("acme", repository),
            },
            ["sender"] = new JsonObject { ["login"] = "octocat" },
        }.ToJsonString());

    [Fact]
    public async Task A_labelled_GitHub_issue_becomes_one_task_and_bad_deliveries_leave_nothing_behind()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var h = await IntegrationsHarness.StartAsync(Db.Sqlite, ct, new Dictionary<string, string?> { ["MAX_WORKERS"] = "1" });
        // The task runs the standard workflow: script a short one.
        h.Model.Enqueue(
            FakeReply.ToolCall("write_file", Json(new { path = "fix.txt", content = "fixed\n" })),
            FakeReply.ToolCall("finish", Json(new { summary = "Fixed it." })),
            FakeReply.Text(Json(new { verdict = "approve", reasons = Array.Empty<string>(), summary = "ok" })));
        // Untrusted text in the title: markup for Confluence and Slack that must arrive inert.
        var body = GitHubIssueLabeled(h, "app", 7, "Fix <b>the</b> thing & <!channel>");

        // Wrong secret, no signature, a tampered body: 401, no task.
        using (var wrong = await StandardWorkflowEndToEndTests.PostGitHubAsync(h, "issues", "d-wrong", body, secret: "not-the-secret"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            Assert.Equal("UNAUTHORIZED", (string?)(await wrong.ReadJsonAsync())["error"]!["code"]);
        }

        using (var unsigned = new HttpRequestMessage(HttpMethod.Post, "/webhooks/github") { Content = new ByteArrayContent(body) })
        {
            unsigned.Headers.Add("X-GitHub-Event", "issues");
            using var anonymous = new HttpClient { BaseAddress = h.Service.Address };
            using var response = await anonymous.SendAsync(unsigned, ct);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        // Malformed (signed, but not an issues event), an unknown repository: 400 and 404, no task.
        using (var malformed = await StandardWorkflowEndToEndTests.PostGitHubAsync(h, "issues", "d-bad", Encoding.UTF8.GetBytes("{\"action\":\"labeled\",\"issue\":42}")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        }

        using (var notJson = await StandardWorkflowEndToEndTests.PostGitHubAsync(h, "issues", "d-bad2", Encoding.UTF8.GetBytes("not json")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        }

        using (var unknown = await StandardWorkflowEndToEndTests.PostGitHubAsync(h, "issues", "d-unknown", GitHubIssueLabeled(h, "other-repo", 1, "Elsewhere")))
        {
            var json = await unknown.ReadJsonAsync();
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            Assert.Contains("other-repo", (string?)json["error"]!["message"], StringComparison.Ordinal);
        }

        using (var otherLabel = await StandardWorkflowEndToEndTests.PostGitHubAsync(h, "issues", "d-label", GitHubIssueLabeled(h, "app", 8, "Not for us", label: "bug")))
        {
            Assert.Equal(HttpStatusCode.OK, otherLabel.StatusCode);
            Assert.Equal("ignored", (string?)(await otherLabel.ReadJsonAsync())["data"]!["outcome"]);
        }

        Assert.Equal(0, await h.TaskCountAsync());

        // The real delivery: one task; the same delivery again is a replay (409); another delivery of the same issue finds the task.
        using var accepted = await StandardWorkflowEndToEndTests.PostGitHubAsync(h, "issues", "d-1", body);
        var acceptedJson = await accepted.ReadJsonAsync();
        Assert.True(accepted.StatusCode == HttpStatusCode.Accepted, acceptedJson.ToJsonString());
        var taskId = acceptedJson["data"]!["task_id"]!.GetValue<long>();
        using (var replay = await StandardWorkflowEndToEndTests.PostGitHubAsync(h, "issues", "d-1", body))
        {
            Assert.Equal(HttpStatusCode.Conflict, replay.StatusCode);
            Assert.Equal("CONFLICT", (string?)(await replay.ReadJsonAsync())["error"]!["code"]);
        }

        using (var again = await StandardWorkflowEndToEndTests.PostGitHubAsync(h, "issues", "d-2", body))
        {
            Assert.Equal("task_exists", (string?)(await again.ReadJsonAsync())["data"]!["outcome"]);
        }

        Assert.Equal(1, await h.TaskCountAsync());
        var task = await h.WaitFinishedAsync(taskId);
        Assert.True(task.Status == "completed", $"{task.Status}: {task.Error}");
        Assert.Equal("github", task.Source);
        Assert.Equal("acme/app#7", task.ExternalId);

        // The task came from a GitHub issue, not a Jira ticket: the tracker steps were skipped with a note, not failed.
        var steps = await h.Service.WithDbAsync(db => db.WorkflowSteps.AsNoTracking().Where(s => s.Name == "fetch_ticket" || s.Name == "ticket_comment").ToListAsync(ct));
        Assert.All(steps, s => Assert.Equal("skipped", s.Status));
        Assert.Contains(steps, s => s.Outputs!.Contains("no tracker issue", StringComparison.Ordinal));
        Assert.DoesNotContain(h.Jira.Requests, r => r.Method == "POST");
        Assert.Single(h.GitHub.PullRequests("acme", "app"));

        // The title reached the page and the thread escaped, never as markup.
        var page = Assert.Single(h.Confluence.Pages, p => p.Id != h.ParentPageId);
        var pageBody = page.Versions[^1].Body;
        Assert.Contains("Fix &lt;b&gt;the&lt;/b&gt; thing &amp; &lt;!channel&gt;", pageBody, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>the</b>", pageBody, StringComparison.Ordinal);
        var root = await HttpJson.EventuallyAsync(
            () => Task.FromResult(h.Slack.Channels[IntegrationsHarness.Channel].Messages.FirstOrDefault(m => m.ThreadTs is null || m.ThreadTs == m.Ts)),
            m => m is not null && m.Text.Contains("— completed", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        Assert.Contains("&lt;!channel&gt;", root!.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("<!channel>", root.Text, StringComparison.Ordinal);

        await AssertOwnedByTheMappedProjectAsync(h, task, ct);
    }

    /// <summary>
    /// Ownership of an intake task: it belongs to the mapped project and has no creator (it ran as the service). A user
    /// who is not a member of the project does not see it; made a member, they do.
    /// </summary>
    private static async Task AssertOwnedByTheMappedProjectAsync(IntegrationsHarness h, DevOrchestrator.Data.DevTask task, CancellationToken ct)
    {
        Assert.Equal(h.ProjectId, task.ProjectId);
        Assert.Null(task.CreatedByUserId);
        using var outsider = await h.Service.ClientForNewUserAsync("operator", ct);
        Assert.Equal(HttpStatusCode.NotFound, (await outsider.GetAsync($"/api/v1/tasks/{task.Id}", ct)).StatusCode);
        var outsiderId = (long)(await (await outsider.GetAsync("/api/v1/auth/me", ct)).ReadJsonAsync())["data"]!["id"]!;
        Assert.Equal(HttpStatusCode.Created, (await h.Client.PostJsonAsync($"/api/v1/projects/{task.ProjectId}/members", new { user_id = outsiderId, role = "viewer" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await outsider.GetAsync($"/api/v1/tasks/{task.Id}", ct)).StatusCode);
    }

    [Fact]
    public async Task The_JQL_poll_makes_one_task_per_labelled_issue_of_a_mapped_project_and_is_scheduled()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var h = await IntegrationsHarness.StartAsync(Db.Postgres, ct, new Dictionary<string, string?> { ["JIRA_POLL_INTERVAL_SECONDS"] = "120" });
        h.Model.Respond(_ => FakeReply.ToolCall("finish", Json(new { summary = "nothing to do" })));
        var wanted = h.Jira.AddIssue("APP", "Polled ticket one", labels: ["ai-dev"]);
        var wanted2 = h.Jira.AddIssue("APP", "Polled ticket two", labels: ["ai-dev", "backend"]);
        h.Jira.AddIssue("APP", "Not labelled", labels: ["backend"]);
        h.Jira.AddIssue("APP", "Labelled but in progress", labels: ["ai-dev"], status: "In Progress");
        h.Jira.AddIssue("OTHER", "Another project", labels: ["ai-dev"]);

        // The recurring job is registered (in the background, soon after start) with the interval rounded to whole minutes.
        var job = await HttpJson.EventuallyAsync(
            () =>
            {
                using var connection = h.Service.App.Services.GetRequiredService<Hangfire.JobStorage>().GetConnection();
                return Task.FromResult(Hangfire.Storage.StorageConnectionExtensions.GetRecurringJobs(connection).SingleOrDefault(j => j.Id == Features.Webhooks.JiraIntakePoll.JobId));
            },
            j => j is not null, TimeSpan.FromSeconds(30));
        Assert.Equal("*/2 * * * *", job!.Cron);

        async Task<int> PollAsync()
        {
            await using var scope = h.Service.App.Services.CreateAsyncScope();
            return await scope.ServiceProvider.GetRequiredService<Features.Webhooks.JiraIntakePoll>().RunAsync(ct);
        }

        Assert.Equal(2, await PollAsync());
        var search = Assert.Single(h.Jira.RequestsTo("POST", "/rest/api/3/search/jql"));
        Assert.Contains("project in (\"APP\")", search.Json!["jql"]!.GetValue<string>(), StringComparison.Ordinal);
        var tasks = await h.Service.WithDbAsync(db => db.Tasks.AsNoTracking().OrderBy(t => t.Id).ToListAsync(ct));
        Assert.Equal([wanted.Key, wanted2.Key], tasks.Select(t => t.ExternalId));
        Assert.All(tasks, t => Assert.Equal("jira", t.Source));
        Assert.All(tasks, t => Assert.Equal(h.ProjectId, t.ProjectId));
        await AssertOwnedByTheMappedProjectAsync(h, tasks[0], ct);

        // Polling again, or the webhook for the same issue, makes no second task.
        Assert.Equal(0, await PollAsync());
        using var webhook = await h.PostJiraWebhookAsync(IntegrationsHarness.JiraIssueEvent(wanted.Key, "APP", "Polled ticket one", "x", "ai-dev"), "after-poll");
        Assert.Equal("task_exists", (string?)(await webhook.ReadJsonAsync())["data"]!["outcome"]);
        Assert.Equal(2, await h.TaskCountAsync());
    }

    [Fact]
    public async Task The_slash_command_is_verified_acknowledged_at_once_and_answered_through_response_url()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var h = await IntegrationsHarness.StartAsync(Db.Sqlite, ct);
        h.Model.Enqueue(
            FakeReply.ToolCall("write_file", Json(new { path = "readme-fix.txt", content = "x\n" })),
            FakeReply.ToolCall("finish", Json(new { summary = "Fixed the README typo." })),
            FakeReply.Text(Json(new { verdict = "approve", reasons = Array.Empty<string>(), summary = "ok" })));
        var responseUrl = h.Slack.NewResponseUrl().ToString();
        string Form(string channel, string text, string trigger) =>
            $"token=ignored&team_id={h.Slack.TeamId}&team_domain=fake&channel_id={channel}&channel_name=app-dev&user_id=U0FAKEUSR1&user_name=ada" +
            $"&command=%2Fdevorch&text={Uri.EscapeDataString(text)}&response_url={Uri.EscapeDataString(responseUrl)}&trigger_id={trigger}&api_app_id=A0FAKE";

        async Task<HttpResponseMessage> Send(string form, long? timestamp = null, string secret = IntegrationsHarness.SlackSigningSecret)
        {
            var ts = (timestamp ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds()).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var bytes = Encoding.UTF8.GetBytes(form);
            var signature = "v0=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"v0:{ts}:{form}")));
            using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/slack/commands") { Content = new ByteArrayContent(bytes) };
            request.Content.Headers.ContentType = new("application/x-www-form-urlencoded");
            request.Headers.Add("X-Slack-Request-Timestamp", ts);
            request.Headers.Add("X-Slack-Signature", signature);
            using var anonymous = new HttpClient { BaseAddress = h.Service.Address };
            return await anonymous.SendAsync(request, ct);
        }

        using (var stale = await Send(Form(IntegrationsHarness.Channel, "fix the typo", "t-stale"), DateTimeOffset.UtcNow.AddMinutes(-6).ToUnixTimeSeconds()))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, stale.StatusCode);
        }

        using (var forged = await Send(Form(IntegrationsHarness.Channel, "fix the typo", "t-forged"), secret: "wrong"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        }

        using (var unknown = await Send(Form("C0UNKNOWN", "fix the typo", "t-unknown").Replace("channel_name=app-dev", "channel_name=random", StringComparison.Ordinal)))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }

        using (var help = await Send(Form(IntegrationsHarness.Channel, "", "t-help")))
        {
            Assert.Equal(HttpStatusCode.OK, help.StatusCode);
            Assert.Equal("ephemeral", (string?)(await help.ReadJsonAsync())["response_type"]);
        }

        Assert.Equal(0, await h.TaskCountAsync());

        using var ack = await Send(Form(IntegrationsHarness.Channel, "fix the typo in the README", "t-1"));
        var ackJson = await ack.ReadJsonAsync();
        Assert.Equal(HttpStatusCode.OK, ack.StatusCode);
        Assert.Equal("in_channel", (string?)ackJson["response_type"]);
        Assert.Contains("queued", (string?)ackJson["text"], StringComparison.Ordinal);
        using (var replay = await Send(Form(IntegrationsHarness.Channel, "fix the typo in the README", "t-1")))
        {
            Assert.Equal(HttpStatusCode.Conflict, replay.StatusCode); // the same signed command again within the window
        }

        var task = await h.Service.WithDbAsync(db => db.Tasks.AsNoTracking().SingleAsync(ct));
        Assert.Equal("slack", task.Source);
        Assert.NotNull(task.ReplyTo);
        Assert.DoesNotContain(responseUrl, task.ReplyTo, StringComparison.Ordinal); // stored encrypted: it is a credential
        await AssertOwnedByTheMappedProjectAsync(h, task, ct);

        task = await h.WaitFinishedAsync(task.Id);
        Assert.True(task.Status == "completed", $"{task.Status}: {task.Error}");
        var answer = await HttpJson.EventuallyAsync(() => Task.FromResult(h.Slack.Responses.ToList()), r => r.Count > 0, TimeSpan.FromSeconds(30));
        var reply = Assert.Single(answer);
        Assert.Contains($"Task #{task.Id} finished", reply.Text, StringComparison.Ordinal);
        Assert.Contains("/pull/", reply.Text, StringComparison.Ordinal);
    }
}
