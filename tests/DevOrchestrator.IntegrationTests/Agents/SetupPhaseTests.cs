using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.IntegrationTests.Agents;

/// <summary>
/// The per-worktree setup phase end to end: the standard workflow on a .NET and a Node repository whose dependencies
/// come from a package source on loopback (a fake NuGet feed and npm registry). The setup phase runs with network and
/// fills the project's package caches; the verify step and the agent's commands then run in the real sandbox without
/// network (bubblewrap's own network namespace cannot reach the host's loopback, as it cannot reach the internet).
/// </summary>
public sealed class SetupPhaseTests
{
    private static readonly TimeSpan s_slow = TimeSpan.FromMinutes(10);

    private static string Json(object value) => JsonSerializer.Serialize(value);

    private static FakeTextReply Approve() => FakeReply.Text(Json(new { verdict = "approve", reasons = Array.Empty<string>(), summary = "fine" }));

    private static Dictionary<string, string?> Settings() => new() { ["SANDBOX_TIMEOUT_SECONDS"] = "900", ["SETUP_TIMEOUT_SECONDS"] = "900" };

    /// <summary>Commits <paramref name="files"/> on main of the harness's remote.</summary>
    private static async Task PushFilesAsync(AgentHarness harness, IReadOnlyDictionary<string, string> files, CancellationToken ct)
    {
        var seed = harness.Remote + "-seed";
        foreach (var (path, content) in files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(seed, path))!);
            await File.WriteAllTextAsync(Path.Combine(seed, path), content, ct);
        }

        await GitFixtures.GitAsync(seed, ct, "add", "-A");
        await GitFixtures.GitAsync(seed, ct, "-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "the project");
        await GitFixtures.GitAsync(seed, ct, "push", "-q", harness.Remote, "main:refs/heads/main");
    }

    private static async Task SetProjectAsync(AgentHarness harness, object changes, CancellationToken ct)
    {
        var response = await harness.Client.PatchAsJsonAsync($"/api/v1/projects/{harness.ProjectId}", changes, ct);
        Assert.True(response.IsSuccessStatusCode, (await response.ReadJsonAsync()).ToJsonString());
    }

    private static Dictionary<string, string> DotnetRepository(FakePackageFeed feed) => new()
    {
        ["nuget.config"] = $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed.NuGetIndex}" allowInsecureConnections="true" />
              </packageSources>
            </configuration>
            """,
        ["Greeter.csproj"] = """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Devorch.Fixture" Version="1.0.0" />
              </ItemGroup>
            </Project>
            """,
        ["Greeter.cs"] = "namespace Greeter;\n\npublic static class Greeting\n{\n    public static string Hello() => \"hello\";\n}\n",
        [".gitignore"] = "bin/\nobj/\n",
    };

    private static async Task<IReadOnlyDictionary<string, JsonNode?>> StepOutputsAsync(AgentHarness harness, long taskId, CancellationToken ct)
    {
        await using var d = harness.Service.State.OpenDb();
        var executions = d.WorkflowExecutions.Where(w => w.TaskId == taskId).Select(w => w.Id);
        var steps = await d.WorkflowSteps.Where(s => executions.Contains(s.WorkflowExecutionId)).Select(s => new { s.Name, s.Outputs }).ToListAsync(ct);
        return steps.ToDictionary(s => s.Name, s => s.Outputs is null ? null : JsonNode.Parse(s.Outputs));
    }

    [Fact]
    public async Task A_dotnet_repository_restores_in_the_setup_phase_and_builds_offline_in_the_verify_step()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var feed = new FakePackageFeed();
        await feed.StartAsync(ct);
        feed.AddNuGetPackage("Devorch.Fixture", "1.0.0");
        await using var harness = await AgentHarness.StartAsync(Db.Sqlite, settings: Settings(), testCommand: "dotnet build", cancellationToken: ct);
        await PushFilesAsync(harness, DotnetRepository(feed), ct);
        await SetProjectAsync(harness, new { setup_commands = new[] { "dotnet restore" } }, ct);
        harness.Model.Enqueue(
            FakeReply.ToolCall("write_file", Json(new { path = "NOTES.md", content = "built offline\n" })),
            FakeReply.ToolCall("finish", Json(new { summary = "Added notes." })),
            Approve());

        var id = await harness.StartTaskAsync("Add notes", cancellationToken: ct);
        var task = await harness.WaitFinishedAsync(id, s_slow);

        Assert.True((string?)task["status"] == "completed", task.ToJsonString());
        var outputs = await StepOutputsAsync(harness, id, ct);
        Assert.Equal("ran", (string?)outputs["prepare"]!["setup"]);
        Assert.Equal("the project's setup_commands", (string?)outputs["prepare"]!["setup_source"]);
        Assert.True((bool)outputs["verify"]!["passed"]!);
        Assert.Equal("dotnet build", (string?)outputs["verify"]!["command"]);

        // The package came from the feed during setup only, into the project's own cache; the verify step's build
        // restored from that cache offline (it could not have reached the feed).
        Assert.NotEmpty(feed.RequestsTo("GET", "/nuget/v3/flat/devorch.fixture/1.0.0/devorch.fixture.1.0.0.nupkg"));
        var cache = Path.Combine(harness.Service.State.PackageCacheDir, $"project-{harness.ProjectId}", "nuget", "packages", "devorch.fixture", "1.0.0");
        Assert.True(Directory.Exists(cache), cache);

        // Only the task's change was pushed: no marker, no obj/ or bin/.
        var branch = (string)task["branch"]!;
        var files = await GitFixtures.GitAsync(harness.Remote, ct, "ls-tree", "-r", "--name-only", branch);
        Assert.Contains("NOTES.md", files.Split('\n'));
        Assert.DoesNotContain(files.Split('\n'), f => f.StartsWith("obj/", StringComparison.Ordinal) || f.Contains(".devorch-setup", StringComparison.Ordinal));
        var events = await harness.Service.WithDbAsync(db => db.Events.Where(e => e.TaskId == id).Select(e => e.Payload).ToListAsync(ct));
        Assert.Contains(events, p => p.Contains("setup: $ dotnet restore", StringComparison.Ordinal));
        Assert.Contains(events, p => p.Contains("setup: done in", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_node_repository_installs_in_the_repositorys_setup_script_and_its_tests_run_offline()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var feed = new FakePackageFeed();
        await feed.StartAsync(ct);
        feed.AddNpmPackage("devorch-greeting", "1.0.0", "module.exports = () => 'hi';\n");
        await using var harness = await AgentHarness.StartAsync(Db.Postgres, settings: Settings(), cancellationToken: ct);
        await PushFilesAsync(harness, new Dictionary<string, string>
        {
            [".npmrc"] = $"registry={feed.NpmRegistry}\n",
            ["package.json"] = Json(new { name = "app", version = "1.0.0", @private = true, scripts = new { test = "node test.js" }, dependencies = new Dictionary<string, string> { ["devorch-greeting"] = "1.0.0" } }),
            ["test.js"] = "const greet = require('devorch-greeting');\nif (greet() !== 'hi') { console.error('wrong greeting'); process.exit(1); }\nconsole.log('ok');\n",
            [".gitignore"] = "node_modules/\n",
            // The repository's own setup script (no project setup_commands): it runs as committed on the base branch.
            [".devorch/setup.sh"] = "set -e\nnpm install --no-audit --no-fund\n",
        }, ct);
        harness.Model.Enqueue(
            // The agent's own command runs offline too, with the installed dependencies and the project's caches.
            FakeReply.ToolCall("run_command", Json(new { command = "npm test && npm ci --no-audit --no-fund && echo REINSTALLED-FROM-CACHE" })),
            FakeReply.ToolCall("write_file", Json(new { path = "NOTES.md", content = "tested offline\n" })),
            FakeReply.ToolCall("finish", Json(new { summary = "Added notes." })),
            Approve());

        var id = await harness.StartTaskAsync("Add notes", cancellationToken: ct);
        var task = await harness.WaitFinishedAsync(id, s_slow);

        Assert.True((string?)task["status"] == "completed", task.ToJsonString());
        var outputs = await StepOutputsAsync(harness, id, ct);
        Assert.Equal("ran", (string?)outputs["prepare"]!["setup"]);
        Assert.Equal(".devorch/setup.sh", (string?)outputs["prepare"]!["setup_source"]);
        Assert.True((bool)outputs["verify"]!["passed"]!);
        Assert.Equal("npm test", (string?)outputs["verify"]!["command"]);
        Assert.Contains("REINSTALLED-FROM-CACHE", harness.Model.Requests[1].Body, StringComparison.Ordinal);
        Assert.NotEmpty(feed.RequestsTo("GET", "/npm/devorch-greeting"));
        Assert.True(Directory.Exists(Path.Combine(harness.Service.State.PackageCacheDir, $"project-{harness.ProjectId}", "npm")));
        var files = await GitFixtures.GitAsync(harness.Remote, ct, "ls-tree", "-r", "--name-only", (string)task["branch"]!);
        Assert.DoesNotContain(files.Split('\n'), f => f.StartsWith("node_modules/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_setup_a_restore_that_needs_the_network_fails_at_once_saying_so_and_reports_no_branch()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var feed = new FakePackageFeed();
        await feed.StartAsync(ct);
        feed.AddNuGetPackage("Devorch.Fixture", "1.0.0");
        await using var harness = await AgentHarness.StartAsync(Db.Postgres, settings: Settings(), testCommand: "dotnet build", cancellationToken: ct);
        await PushFilesAsync(harness, DotnetRepository(feed), ct);
        harness.Model.Enqueue(
            FakeReply.ToolCall("write_file", Json(new { path = "NOTES.md", content = "never pushed\n" })),
            FakeReply.ToolCall("finish", Json(new { summary = "Added notes." })));

        var id = await harness.StartTaskAsync("Add notes", cancellationToken: ct);
        var task = await harness.WaitFinishedAsync(id, s_slow);

        Assert.Equal("failed", (string?)task["status"]);
        var error = (string?)task["error"];
        Assert.Contains("run without network", error, StringComparison.Ordinal);
        Assert.Contains("setup_commands", error, StringComparison.Ordinal);
        Assert.Contains(".devorch/setup.sh", error, StringComparison.Ordinal);

        // Failed at once: the failure was not handed to the development agent to "fix" (two calls: its turns).
        Assert.Equal(2, harness.Model.Requests.Count);
        var outputs = await StepOutputsAsync(harness, id, ct);
        Assert.Equal("none", (string?)outputs["prepare"]!["setup"]);
        Assert.True((bool)outputs["verify"]!["network_needed"]!);
        Assert.Empty(feed.Requests);

        // A failed task never reports a branch it did not push: nothing in the task, its result, or the remote.
        Assert.Null(task["branch"]);
        Assert.Null(task["result"]!["branch"]);
        Assert.Null(task["result"]!["pr_url"]);
        var heads = await GitFixtures.GitAsync(harness.Remote, ct, "for-each-ref", "--format=%(refname)", "refs/heads/");
        Assert.Equal("refs/heads/main", heads);
    }

    [Fact]
    public async Task Setup_commands_are_validated_and_returned_by_the_projects_api()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(Db.Sqlite, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync("operator", ct);

        var bad = await client.PostAsJsonAsync("/api/v1/projects", new { name = "bad", setup_commands = new[] { "npm ci", " ", new string('x', 4001) } }, ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        // The service's validation status (400 VALIDATION_ERROR), every offending field named.
        var details = (await bad.ReadJsonAsync())["error"]!["details"]!.AsObject();
        Assert.Equal(["setup_commands[1]", "setup_commands[2]"], details.Select(d => d.Key).Order());

        var tooMany = await client.PostAsJsonAsync("/api/v1/projects", new { name = "many", setup_commands = Enumerable.Repeat("true", 21) }, ct);
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        Assert.NotNull((await tooMany.ReadJsonAsync())["error"]!["details"]!["setup_commands"]);

        var created = await client.PostAsJsonAsync("/api/v1/projects", new { name = "good", setup_commands = new[] { "dotnet restore", "npm ci" } }, ct);
        var body = await created.ReadJsonAsync();
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(["dotnet restore", "npm ci"], body["data"]!["setup_commands"]!.AsArray().Select(c => (string)c!));
        var id = body["data"]!["id"]!.GetValue<long>();

        // Left out keeps the value; an empty list clears it.
        var renamed = await (await client.PatchAsJsonAsync($"/api/v1/projects/{id}", new { description = "d" }, ct)).ReadJsonAsync();
        Assert.Equal(2, renamed["data"]!["setup_commands"]!.AsArray().Count);
        var cleared = await (await client.PatchAsJsonAsync($"/api/v1/projects/{id}", new { setup_commands = Array.Empty<string>() }, ct)).ReadJsonAsync();
        Assert.Empty(cleared["data"]!["setup_commands"]!.AsArray());
    }
}
