using System.Net.Http.Json;
using DevOrchestrator.IntegrationTests.Infrastructure;

namespace DevOrchestrator.IntegrationTests.Integrations;

/// <summary>
/// A workflow's YAML booleans reach the vendors as booleans: <c>draft: true</c> opens a draft pull request and
/// <c>thread: false</c> posts at the top of the channel (both were read as text, "True"/"False", and lost).
/// </summary>
public sealed class TypedWorkflowInputsTests
{
    private const string Workflow = """
        name: typed_inputs
        steps:
          - name: prepare
            plugin: workspace
            action: prepare
            inputs:
              continue_branch: false
          - name: change
            plugin: workspace
            action: run_command
            inputs:
              command: "echo typed > typed.txt; exit 4"
              allow_failure: true
              timeout_seconds: 60
          - name: commit
            plugin: workspace
            action: commit
          - name: push
            plugin: workspace
            action: push
          - name: pr
            plugin: version_control
            action: create_pull_request
            inputs:
              branch: "${steps.prepare.branch}"
              draft: true
          - name: announce
            plugin: communication
            action: post_message
            inputs:
              text: "typed inputs done"
              thread: false
        """;

    [Fact]
    public async Task Yaml_booleans_and_numbers_are_read_as_types_by_every_step()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var h = await IntegrationsHarness.StartAsync(Db.Sqlite, ct);
        Directory.CreateDirectory(h.Service.State.WorkflowsDir);
        await File.WriteAllTextAsync(Path.Combine(h.Service.State.WorkflowsDir, "typed_inputs.yaml"), Workflow, ct);

        using var created = await h.Client.PostAsJsonAsync("/api/v1/tasks", new
        {
            title = "Typed inputs",
            project_id = h.ProjectId,
            workflow = "typed_inputs",
            auto_start = true,
        }, ct);
        var body = await created.ReadJsonAsync();
        Assert.True(created.IsSuccessStatusCode, body.ToJsonString());
        var task = await h.WaitFinishedAsync(body["data"]!["id"]!.GetValue<long>());

        Assert.True(task.Status == "completed", $"task ended {task.Status}: {task.Error}");
        // allow_failure: true let the failing command pass; the commit and push carried its file.
        Assert.Equal("typed", await GitFixtures.GitAsync(h.BareRepository, ct, "show", $"{task.Branch}:typed.txt"));
        // draft: true → a draft pull request.
        var pr = Assert.Single(h.GitHub.PullRequests("acme", "app"));
        Assert.True(pr.Draft);
        // thread: false → the announcement is a top-level message of the channel, not a reply in the task's thread.
        var announcement = Assert.Single(h.Slack.Channels[IntegrationsHarness.Channel].Messages, m => m.Text == "typed inputs done");
        Assert.Null(announcement.ThreadTs);
    }
}
