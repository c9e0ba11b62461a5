using System.Net;
using System.Text.Json;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.IntegrationTests.Integrations;

/// <summary>
/// The secret scan through the whole standard workflow (fake model, real git over the fake GitHub's smart HTTP): an
/// agent that writes a planted GitHub token and the configured Jira token into files is told where (file:line and
/// rule) by the verify step; when it leaves them, its task fails at the commit with the same locations, the bare
/// repository never receives the branch, and neither value appears in the events, the log or the API's answers. An
/// agent that removes its planted AWS key when told goes through; so does a false positive under a path glob of the
/// base branch's allow-list.
/// </summary>
public sealed class SecretScanEndToEndTests
{
    private static string Json(object value) => JsonSerializer.Serialize(value);

    private static string Planted(int length)
    {
        var random = new Random(23);
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        return new string([.. Enumerable.Range(0, length).Select(_ => alphabet[random.Next(alphabet.Length)])]);
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task AnAgentsPlantedSecretsFailTheTaskBeforeAnythingIsPushedAndAnAllowListedExampleGoesThrough(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        var logFile = Path.Combine(Path.GetTempPath(), "devorch-secret-scan-" + Guid.NewGuid().ToString("N")[..8] + ".log");
        await using var h = await IntegrationsHarness.StartAsync(db, ct, new Dictionary<string, string?> { ["LOG_FILE"] = logFile, ["LOG_LEVEL"] = "information" });
        var githubToken = "gh" + "p_" + Planted(36);
        var jiraToken = h.Jira.ApiToken;

        // ---- The agent writes a token into code and the service's own Jira token into notes.
        var ticket = h.Jira.AddIssue("APP", "Wire the client", labels: ["ai-dev"]);
        h.Model.Enqueue(
            FakeReply.ToolCall("write_file", Json(new { path = "app/config.py", content = "import os\n\nGITHUB_TOKEN = \"" + githubToken + "\"\n" })),
            FakeReply.ToolCall("write_file", Json(new { path = "notes/jira.md", content = "# Jira\nthe token is " + jiraToken + "\n" })),
            FakeReply.ToolCall("finish", Json(new { summary = "Wired the client." })),
            // Told twice by verify (AGENT_VERIFY_ATTEMPTS=2), the agent answers without changing anything.
            FakeReply.Text("The token is needed there."),
            FakeReply.Text("I am leaving it."),
            FakeReply.Text(Json(new { verdict = "approve", reasons = Array.Empty<string>(), summary = "fine" })));
        using var accepted = await h.PostJiraWebhookAsync(IntegrationsHarness.JiraIssueEvent(ticket.Key, "APP", "Wire the client", "Connect to GitHub.", "ai-dev"), "delivery-s1");
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var taskId = (await accepted.ReadJsonAsync())["data"]!["task_id"]!.GetValue<long>();

        var task = await h.WaitFinishedAsync(taskId);
        Assert.Equal("failed", task.Status);
        Assert.Contains("secret scan blocked the commit", task.Error, StringComparison.Ordinal);
        Assert.Contains("app/config.py:3 github-token", task.Error, StringComparison.Ordinal);
        Assert.Contains("notes/jira.md:2 service-secret", task.Error, StringComparison.Ordinal);

        // The agent was told where, twice, without the values.
        var told = h.Model.Requests.Select(r => r.Messages.LastOrDefault()?.ToJsonString() ?? "").Where(m => m.Contains("secret scan found", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, told.Count);
        Assert.All(told, m => Assert.Contains("app/config.py:3 github-token", m, StringComparison.Ordinal));
        Assert.All(told, m => Assert.Contains("notes/jira.md:2 service-secret", m, StringComparison.Ordinal));
        Assert.All(told, m => Assert.All(new[] { githubToken, jiraToken }, v => Assert.DoesNotContain(v, m, StringComparison.Ordinal)));

        // Nothing left the machine: no branch in the bare repository, no git push, no pull request.
        Assert.DoesNotContain("devorch/", await GitFixtures.GitAsync(h.BareRepository, ct, "for-each-ref", "refs/heads"), StringComparison.Ordinal);
        Assert.DoesNotContain(h.GitHub.Requests, r => r.Path.EndsWith("/git-receive-pack", StringComparison.Ordinal));
        Assert.Empty(h.GitHub.PullRequests("acme", "app"));

        // The values are nowhere: not in the events, the API's answers, or the log (which does record the block).
        string[] values = [githubToken, jiraToken];
        var events = await h.Service.WithDbAsync(db => db.Events.AsNoTracking().Where(e => e.TaskId == taskId).Select(e => e.Payload).ToListAsync(ct));
        Assert.Contains(events, payload => payload != null && payload.Contains("app/config.py:3 github-token", StringComparison.Ordinal));
        Assert.All(events, payload => Assert.All(values, v => Assert.DoesNotContain(v, payload ?? "", StringComparison.Ordinal)));
        foreach (var url in new[] { $"/api/v1/tasks/{taskId}", $"/api/v1/agents/status?task_id={taskId}", $"/api/v1/tasks?per_page=100", "/api/v1/agents" })
        {
            using var response = await h.Client.GetAsync(url, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            Assert.True(response.IsSuccessStatusCode, url + ": " + text);
            Assert.All(values, v => Assert.DoesNotContain(v, text, StringComparison.Ordinal));
        }

        var shown = await (await h.Client.GetAsync($"/api/v1/tasks/{taskId}", ct)).Content.ReadAsStringAsync(ct);
        Assert.Contains("app/config.py:3 github-token", shown, StringComparison.Ordinal);
        var log = await File.ReadAllTextAsync(logFile, ct);
        Assert.Contains("secret scan blocked the commit", log, StringComparison.Ordinal);
        Assert.All(values, v => Assert.DoesNotContain(v, log, StringComparison.Ordinal));

        // ---- An agent that removes the secret when told: the task goes through, without it.
        var awsKey = "AK" + "IA" + Planted(16).ToUpperInvariant();
        var fixable = h.Jira.AddIssue("APP", "Read the AWS key", labels: ["ai-dev"]);
        h.Model.Enqueue(
            FakeReply.ToolCall("write_file", Json(new { path = "app/aws.py", content = "KEY_ID = \"" + awsKey + "\"\n" })),
            FakeReply.ToolCall("finish", Json(new { summary = "Added the key." })),
            FakeReply.ToolCall("write_file", Json(new { path = "app/aws.py", content = "import os\nKEY_ID = os.environ[\"AWS_ACCESS_KEY_ID\"]\n" })),
            FakeReply.ToolCall("finish", Json(new { summary = "The key id now comes from the environment." })),
            FakeReply.Text(Json(new { verdict = "approve", reasons = Array.Empty<string>(), summary = "fine" })));
        using var acceptedFix = await h.PostJiraWebhookAsync(IntegrationsHarness.JiraIssueEvent(fixable.Key, "APP", "Read the AWS key", "Use the key.", "ai-dev"), "delivery-s-fix");
        var fixedTask = await h.WaitFinishedAsync((await acceptedFix.ReadJsonAsync())["data"]!["task_id"]!.GetValue<long>());
        Assert.True(fixedTask.Status == "completed", $"the fixed task ended {fixedTask.Status}: {fixedTask.Error}");
        Assert.Contains(h.Model.Requests, r => (r.Messages.LastOrDefault()?.ToJsonString() ?? "").Contains("app/aws.py:1 aws-access-key-id", StringComparison.Ordinal));
        var pushedFile = await GitFixtures.GitAsync(h.BareRepository, ct, "show", $"{fixedTask.Branch}:app/aws.py");
        Assert.Contains("os.environ", pushedFile, StringComparison.Ordinal);
        Assert.DoesNotContain(awsKey, await GitFixtures.GitAsync(h.BareRepository, ct, "log", "-p", "--all"), StringComparison.Ordinal);

        // ---- A reviewed example under docs/examples/ (allowed on the base branch) goes through, and is pushed.
        var seed = Path.Combine(h.Root, "allow-seed");
        await GitFixtures.GitAsync(h.Root, ct, "clone", "-q", h.BareRepository, seed);
        Directory.CreateDirectory(Path.Combine(seed, ".devorch"));
        await File.WriteAllTextAsync(Path.Combine(seed, ".devorch", "secret-scan-allow"), "# reviewed: documentation examples\ndocs/examples/**\n", ct);
        await GitFixtures.GitAsync(seed, ct, "add", "-A");
        await GitFixtures.GitAsync(seed, ct, "-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "secret scan allow-list");
        await GitFixtures.GitAsync(seed, ct, "push", "-q", "origin", "main");

        var example = "AK" + "IA" + "IOSFODNN7" + "EXAMPLE";
        var second = h.Jira.AddIssue("APP", "Document the AWS setup", labels: ["ai-dev"]);
        h.Model.Enqueue(
            FakeReply.ToolCall("write_file", Json(new { path = "docs/examples/aws.md", content = "# AWS\n\nexport AWS_ACCESS_KEY_ID=" + example + "\n" })),
            FakeReply.ToolCall("finish", Json(new { summary = "Documented the AWS setup." })),
            FakeReply.Text(Json(new { verdict = "approve", reasons = Array.Empty<string>(), summary = "fine" })));
        using var accepted2 = await h.PostJiraWebhookAsync(IntegrationsHarness.JiraIssueEvent(second.Key, "APP", "Document the AWS setup", "Write docs.", "ai-dev"), "delivery-s2");
        var taskId2 = (await accepted2.ReadJsonAsync())["data"]!["task_id"]!.GetValue<long>();
        var task2 = await h.WaitFinishedAsync(taskId2);
        Assert.True(task2.Status == "completed", $"the allowed task ended {task2.Status}: {task2.Error}");
        Assert.Contains(example, await GitFixtures.GitAsync(h.BareRepository, ct, "show", $"{task2.Branch}:docs/examples/aws.md"), StringComparison.Ordinal);
        var commitStep = await h.Service.WithDbAsync(db => db.WorkflowSteps.AsNoTracking().Where(s => s.Name == "commit").OrderByDescending(s => s.Id).Select(s => s.Outputs).FirstAsync(ct));
        Assert.Contains("\"secret_scan_allowed\":1", commitStep!, StringComparison.Ordinal);
        File.Delete(logFile);
    }
}
