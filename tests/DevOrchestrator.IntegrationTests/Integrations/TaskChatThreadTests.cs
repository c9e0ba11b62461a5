using System.Net.Http.Json;
using DevOrchestrator.IntegrationTests.Infrastructure;

namespace DevOrchestrator.IntegrationTests.Integrations;

/// <summary>A task that fails says so in its Slack thread: the root edited to "failed", a last reply with the reason.</summary>
public sealed class TaskChatThreadTests
{
    [Fact]
    public async Task A_failed_task_ends_its_thread_with_the_reason()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var h = await IntegrationsHarness.StartAsync(Db.Sqlite, ct);
        using var created = await h.Client.PostAsJsonAsync("/api/v1/tasks", new
        {
            title = "Run the <migration>",
            project_id = h.ProjectId,
            workflow = "run_command_workflow",
            variables = new { command = "echo broken >&2; exit 3" },
            auto_start = true,
        }, ct);
        var body = await created.ReadJsonAsync();
        Assert.True(created.IsSuccessStatusCode, body.ToJsonString());
        var task = await h.WaitFinishedAsync(body["data"]!["id"]!.GetValue<long>());
        Assert.Equal("failed", task.Status);

        var channel = h.Slack.Channels[IntegrationsHarness.Channel];
        var root = await HttpJson.EventuallyAsync(
            () => Task.FromResult(channel.Messages.FirstOrDefault(m => m.ThreadTs is null || m.ThreadTs == m.Ts)),
            m => m is not null && m.Text.Contains("— failed", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        Assert.Equal($"DevOrchestrator task #{task.Id}: Run the &lt;migration&gt; — failed", root!.Text);
        Assert.Equal([$"DevOrchestrator task #{task.Id}: Run the &lt;migration&gt; — started"], root.PreviousTexts);
        var last = Assert.Single(channel.Replies(root.Ts));
        Assert.StartsWith($"Task #{task.Id} failed: step run failed: command exited with code 3", last.Text, StringComparison.Ordinal);
        Assert.Contains("Cost: $0.00", last.Text, StringComparison.Ordinal);
    }
}
