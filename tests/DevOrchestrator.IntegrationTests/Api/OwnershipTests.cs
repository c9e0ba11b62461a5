using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.IntegrationTests.Dispatch;
using DevOrchestrator.IntegrationTests.Events;
using DevOrchestrator.IntegrationTests.Infrastructure;

namespace DevOrchestrator.IntegrationTests.Api;

/// <summary>
/// Ownership (issue 15): two operators, each in their own project with a finished task, a task without a project, an
/// agent execution and model costs. Each must not see or act on the other's anything, on every route; an admin sees all;
/// membership changes take effect on the next request.
/// </summary>
public sealed class OwnershipTests
{
    /// <summary>One user's world: their client, id, project, a finished task in it (with its agent and workflow execution) and a task without a project.</summary>
    private sealed record Party(HttpClient Client, long UserId, string Email, long ProjectId, long TaskId, long AgentId, long ExecutionId, long LooseTaskId);

    private sealed record World(ServiceUnderTest Service, HttpClient Admin, Party Alice, Party Bob) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Admin.Dispose();
            Alice.Client.Dispose();
            Bob.Client.Dispose();
            await Service.DisposeAsync();
        }
    }

    private static async Task<World> CreateWorldAsync(Db db, CancellationToken ct)
    {
        var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        var admin = await service.ClientForNewUserAsync(Roles.Admin, ct);
        var alice = await CreatePartyAsync(service, ct);
        var bob = await CreatePartyAsync(service, ct);
        await service.WithDbAsync(async d =>
        {
            var at = DateTimeOffset.UtcNow;
            d.CostEntries.AddRange(
                new CostEntry { Provider = "anthropic", Model = "m", TaskId = alice.TaskId, ProjectId = alice.ProjectId, UserId = alice.UserId, Usd = 1m, InputTokens = 10, CreatedAt = at },
                new CostEntry { Provider = "anthropic", Model = "m", TaskId = bob.TaskId, ProjectId = bob.ProjectId, UserId = bob.UserId, Usd = 2m, InputTokens = 20, CreatedAt = at },
                new CostEntry { Provider = "anthropic", Model = "m", ProjectId = bob.ProjectId, UserId = bob.UserId, Usd = 4m, InputTokens = 40, CreatedAt = at });
            return await d.SaveChangesAsync(ct);
        });
        return new World(service, admin, alice, bob);
    }

    private static async Task<Party> CreatePartyAsync(ServiceUnderTest service, CancellationToken ct)
    {
        var client = await service.ClientForNewUserAsync(Roles.Operator, ct);
        var me = (await (await client.GetAsync("/api/v1/auth/me", ct)).ReadJsonAsync())["data"]!;
        var repo = await GitFixtures.CreateBareRepositoryAsync(service.State.Root, ct);
        var projectId = await DispatchTests.CreateProjectAsync(client, repo);
        var taskId = await CreateTaskAsync(client, projectId);
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostJsonAsync($"/api/v1/tasks/{taskId}/assign-to-agent", new { })).StatusCode);
        Assert.Equal("completed", (string?)(await DispatchTests.WaitForFinishAsync(client, taskId))["status"]);
        var agent = (await (await client.GetAsync($"/api/v1/agents?task_id={taskId}", ct)).ReadJsonAsync())["data"]![0]!;
        var loose = await client.PostJsonAsync("/api/v1/tasks", new { title = "no project" });
        Assert.Equal(HttpStatusCode.Created, loose.StatusCode);
        return new Party(client, (long)me["id"]!, (string)me["email"]!, projectId, taskId, (long)agent["id"]!, (long)agent["workflow_execution_id"]!,
            (long)(await loose.ReadJsonAsync())["data"]!["id"]!);
    }

    private static async Task<long> CreateTaskAsync(HttpClient client, long projectId)
    {
        var response = await client.PostJsonAsync("/api/v1/tasks", new { title = "echo", project_id = projectId, workflow = "run_command_workflow", variables = new { command = "echo hi" } });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (long)(await response.ReadJsonAsync())["data"]!["id"]!;
    }

    private static async Task<JsonNode> DataAsync(HttpClient client, string url)
    {
        var response = await client.GetAsync(url);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.ReadJsonAsync())["data"]!;
    }

    private static async Task<long[]> IdsAsync(HttpClient client, string url, string field = "id") =>
        (await DataAsync(client, url)).AsArray().Select(n => (long)n![field]!).Order().ToArray();

    private static async Task AssertNotFoundAsync(Task<HttpResponseMessage> request, string what)
    {
        var response = await request;
        Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{what}: expected 404, got {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("NOT_FOUND", (string?)(await response.ReadJsonAsync())["error"]!["code"]);
    }

    private static async Task AssertForbiddenAsync(Task<HttpResponseMessage> request, string what)
    {
        var response = await request;
        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{what}: expected 403, got {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("FORBIDDEN", (string?)(await response.ReadJsonAsync())["error"]!["code"]);
    }

    private static Task<HttpResponseMessage> PatchAsync(HttpClient client, string url, object body) =>
        client.PatchAsync(url, JsonContent.Create(body));

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task A_user_sees_and_acts_only_on_their_projects_and_tasks_and_an_admin_on_all(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var world = await CreateWorldAsync(db, ct);
        var (alice, bob, admin) = (world.Alice.Client, world.Bob, world.Admin);

        // Lists filter: no 403, just fewer rows.
        Assert.Equal([world.Alice.ProjectId], await IdsAsync(alice, "/api/v1/projects"));
        Assert.Equal([world.Alice.TaskId, world.Alice.LooseTaskId], await IdsAsync(alice, "/api/v1/tasks"));
        Assert.Empty(await IdsAsync(alice, $"/api/v1/tasks?project_id={bob.ProjectId}"));
        Assert.Equal([world.Alice.AgentId], await IdsAsync(alice, "/api/v1/agents"));

        // Single resources of Bob answer 404, read or write.
        await AssertNotFoundAsync(alice.GetAsync($"/api/v1/projects/{bob.ProjectId}", ct), "get project");
        await AssertNotFoundAsync(PatchAsync(alice, $"/api/v1/projects/{bob.ProjectId}", new { description = "mine now" }), "update project");
        await AssertNotFoundAsync(alice.PostJsonAsync($"/api/v1/projects/{bob.ProjectId}/generate-plan", new { requirements = new[] { "x" } }), "generate plan");
        await AssertNotFoundAsync(alice.GetAsync($"/api/v1/projects/{bob.ProjectId}/members", ct), "list members");
        await AssertNotFoundAsync(alice.PostJsonAsync($"/api/v1/projects/{bob.ProjectId}/members", new { user_id = world.Alice.UserId, role = "maintainer" }), "add self");
        foreach (var task in new[] { bob.TaskId, bob.LooseTaskId })
        {
            await AssertNotFoundAsync(alice.GetAsync($"/api/v1/tasks/{task}", ct), "get task");
            await AssertNotFoundAsync(PatchAsync(alice, $"/api/v1/tasks/{task}", new { title = "renamed" }), "update task");
            await AssertNotFoundAsync(alice.PostJsonAsync($"/api/v1/tasks/{task}/assign-to-agent", new { }), "assign task");
            await AssertNotFoundAsync(alice.PostJsonAsync($"/api/v1/tasks/{task}/cancel", new { }), "cancel task");
            await AssertNotFoundAsync(alice.GetAsync($"/api/v1/tasks/{task}/events", ct), "SSE events");
            await AssertNotFoundAsync(alice.GetAsync($"/api/v1/agents/status?task_id={task}", ct), "agents/status");
            await AssertNotFoundAsync(alice.PostJsonAsync("/api/v1/workflows/execute", new { workflow = "run_command_workflow", task_id = task }), "workflows/execute");
        }

        await AssertNotFoundAsync(alice.GetAsync($"/api/v1/agents/{bob.AgentId}/status", ct), "agent status");
        await AssertNotFoundAsync(alice.PostJsonAsync($"/api/v1/agents/{bob.AgentId}/stop", new { }), "agent stop");
        await AssertNotFoundAsync(alice.GetAsync($"/api/v1/workflows/{bob.ExecutionId}/status", ct), "workflow status");

        // Creating a task in Bob's project: the project does not exist for Alice (the same answer as a missing one).
        var create = await alice.PostJsonAsync("/api/v1/tasks", new { title = "sneak", project_id = bob.ProjectId });
        Assert.Equal(HttpStatusCode.BadRequest, create.StatusCode);
        Assert.Equal($"project {bob.ProjectId} does not exist", (string?)(await create.ReadJsonAsync())["error"]!["details"]!["project_id"]![0]);
        // Nor can she move her own task there.
        var move = await PatchAsync(alice, $"/api/v1/tasks/{world.Alice.LooseTaskId}", new { project_id = bob.ProjectId });
        Assert.Equal(HttpStatusCode.BadRequest, move.StatusCode);

        // Costs: only the calls of what she sees; the month's budget figures stay global.
        var costs = await DataAsync(alice, "/api/v1/costs?group_by=task");
        Assert.Equal(1m, (decimal)costs["total_usd"]!);
        Assert.Equal([world.Alice.TaskId], costs["breakdown"]!.AsArray().Select(r => (long)r!["key"]!).ToArray());
        var byProject = await DataAsync(alice, "/api/v1/costs?group_by=project");
        Assert.Equal([world.Alice.ProjectId], byProject["breakdown"]!.AsArray().Select(r => (long)r!["key"]!).ToArray());

        // Bob's own view is the mirror image; nothing of Bob's was changed by Alice's attempts.
        Assert.Equal([bob.TaskId, bob.LooseTaskId], await IdsAsync(bob.Client, "/api/v1/tasks"));
        Assert.Equal("echo", (string?)(await DataAsync(bob.Client, $"/api/v1/tasks/{bob.TaskId}"))["title"]);
        Assert.Equal(6m, (decimal)(await DataAsync(bob.Client, "/api/v1/costs?group_by=project"))["total_usd"]!);

        // The admin sees and acts on everything.
        Assert.Equal(new[] { world.Alice.ProjectId, bob.ProjectId }.Order(), await IdsAsync(admin, "/api/v1/projects"));
        Assert.Equal(new[] { world.Alice.TaskId, world.Alice.LooseTaskId, bob.TaskId, bob.LooseTaskId }.Order(), await IdsAsync(admin, "/api/v1/tasks"));
        Assert.Equal(new[] { world.Alice.AgentId, bob.AgentId }.Order(), await IdsAsync(admin, "/api/v1/agents"));
        Assert.Equal(7m, (decimal)(await DataAsync(admin, "/api/v1/costs?group_by=task"))["total_usd"]!);
        await DataAsync(admin, $"/api/v1/tasks/{bob.LooseTaskId}");
        await DataAsync(admin, $"/api/v1/agents/{bob.AgentId}/status");
        await DataAsync(admin, $"/api/v1/workflows/{bob.ExecutionId}/status");
        await DataAsync(admin, $"/api/v1/agents/status?task_id={bob.TaskId}");
        Assert.Equal(HttpStatusCode.OK, (await PatchAsync(admin, $"/api/v1/projects/{bob.ProjectId}", new { description = "by the admin" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostJsonAsync($"/api/v1/tasks/{bob.LooseTaskId}/cancel", new { })).StatusCode);
        Assert.NotEmpty(await EventStreamTests.ReadSseAsync(admin, $"/api/v1/tasks/{bob.TaskId}/events", null, ct));
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task The_websocket_carries_only_the_events_of_visible_tasks_and_refuses_another_users_task(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var world = await CreateWorldAsync(db, ct);
        var wsUri = new UriBuilder(world.Service.Address) { Scheme = "ws", Path = "/ws" }.Uri;

        using (var refused = new ClientWebSocket())
        {
            refused.Options.SetRequestHeader("Authorization", world.Alice.Client.DefaultRequestHeaders.Authorization!.ToString());
            var error = await Assert.ThrowsAnyAsync<WebSocketException>(() => refused.ConnectAsync(new Uri(wsUri + $"?task_id={world.Bob.TaskId}"), ct));
            Assert.Contains("404", error.Message, StringComparison.Ordinal);
        }

        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", world.Alice.Client.DefaultRequestHeaders.Authorization!.ToString());
        await socket.ConnectAsync(wsUri, ct);
        Assert.Equal("connected", (string?)(await ReceiveAsync(socket, ct))["type"]);

        // Bob's new task first, then Alice's: the first event Alice receives is about her own task.
        var bobs = (long)(await (await world.Bob.Client.PostJsonAsync("/api/v1/tasks", new { title = "bob's", project_id = world.Bob.ProjectId })).ReadJsonAsync())["data"]!["id"]!;
        var bobsLoose = (long)(await (await world.Bob.Client.PostJsonAsync("/api/v1/tasks", new { title = "bob's loose" })).ReadJsonAsync())["data"]!["id"]!;
        var alices = (long)(await (await world.Alice.Client.PostJsonAsync("/api/v1/tasks", new { title = "alice's", project_id = world.Alice.ProjectId })).ReadJsonAsync())["data"]!["id"]!;
        Assert.True(bobs < alices && bobsLoose < alices);
        var first = await ReceiveAsync(socket, ct);
        Assert.Equal(alices, (long)first["task_id"]!);

        // An admin's socket carries everyone's events.
        using var adminSocket = new ClientWebSocket();
        adminSocket.Options.SetRequestHeader("Authorization", world.Admin.DefaultRequestHeaders.Authorization!.ToString());
        await adminSocket.ConnectAsync(wsUri, ct);
        Assert.Equal("connected", (string?)(await ReceiveAsync(adminSocket, ct))["type"]);
        var another = (long)(await (await world.Bob.Client.PostJsonAsync("/api/v1/tasks", new { title = "bob's again", project_id = world.Bob.ProjectId })).ReadJsonAsync())["data"]!["id"]!;
        Assert.Equal(another, (long)(await ReceiveAsync(adminSocket, ct))["task_id"]!);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", ct);
        await adminSocket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", ct);
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Membership_roles_decide_what_a_member_may_do_and_changes_take_effect_at_once(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var world = await CreateWorldAsync(db, ct);
        var (alice, bob) = (world.Alice, world.Bob);
        var members = $"/api/v1/projects/{alice.ProjectId}/members";

        // The creator is the first maintainer.
        var initial = (await DataAsync(alice.Client, members)).AsArray();
        Assert.Equal((alice.UserId, alice.Email, "maintainer"), ((long)initial.Single()!["user_id"]!, (string?)initial.Single()!["email"], (string?)initial.Single()!["role"]));

        // Bad input names every field; unknown users and repeats are refused.
        var bad = await alice.Client.PostJsonAsync(members, new { user_id = bob.UserId, email = bob.Email, role = "owner" });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(["role", "user_id"], (await bad.ReadJsonAsync())["error"]!["details"]!.AsObject().Select(kv => kv.Key).Order().ToArray());
        var unknown = await alice.Client.PostJsonAsync(members, new { user_id = 987654, role = "viewer" });
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.NotNull((await unknown.ReadJsonAsync())["error"]!["details"]!["user_id"]);

        // Bob as a viewer: reads the project, its tasks and their events; may not act.
        Assert.Equal(HttpStatusCode.Created, (await alice.Client.PostJsonAsync(members, new { email = bob.Email, role = "viewer" })).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await alice.Client.PostJsonAsync(members, new { user_id = bob.UserId, role = "developer" })).StatusCode);
        await DataAsync(bob.Client, $"/api/v1/projects/{alice.ProjectId}");
        Assert.Contains(alice.TaskId, await IdsAsync(bob.Client, "/api/v1/tasks"));
        Assert.DoesNotContain(alice.LooseTaskId, await IdsAsync(bob.Client, "/api/v1/tasks"));
        Assert.NotEmpty(await EventStreamTests.ReadSseAsync(bob.Client, $"/api/v1/tasks/{alice.TaskId}/events", null, ct));
        await DataAsync(bob.Client, $"/api/v1/agents/{alice.AgentId}/status");
        await AssertForbiddenAsync(bob.Client.PostJsonAsync("/api/v1/tasks", new { title = "t", project_id = alice.ProjectId }), "viewer creates");
        await AssertForbiddenAsync(bob.Client.PostJsonAsync($"/api/v1/tasks/{alice.TaskId}/assign-to-agent", new { }), "viewer assigns");
        await AssertForbiddenAsync(bob.Client.PostJsonAsync("/api/v1/workflows/execute", new { workflow = "run_command_workflow", task_id = alice.TaskId }), "viewer executes");
        await AssertForbiddenAsync(PatchAsync(bob.Client, $"/api/v1/projects/{alice.ProjectId}", new { description = "x" }), "viewer edits project");
        await AssertForbiddenAsync(bob.Client.PostJsonAsync(members, new { user_id = bob.UserId, role = "maintainer" }), "viewer manages members");

        // Promoted to developer: creates and cancels tasks there, still cannot edit the project.
        Assert.Equal("developer", (string?)(await (await PatchAsync(alice.Client, $"{members}/{bob.UserId}", new { role = "developer" })).ReadJsonAsync())["data"]!["role"]);
        var created = await bob.Client.PostJsonAsync("/api/v1/tasks", new { title = "by bob", project_id = alice.ProjectId });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var bobsTask = (long)(await created.ReadJsonAsync())["data"]!["id"]!;
        Assert.Equal(HttpStatusCode.OK, (await bob.Client.PostJsonAsync($"/api/v1/tasks/{bobsTask}/cancel", new { })).StatusCode);
        await AssertForbiddenAsync(PatchAsync(bob.Client, $"/api/v1/projects/{alice.ProjectId}", new { description = "x" }), "developer edits project");

        // The last maintainer can be neither removed nor demoted.
        Assert.Equal(HttpStatusCode.Conflict, (await alice.Client.DeleteAsync($"{members}/{alice.UserId}", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await PatchAsync(alice.Client, $"{members}/{alice.UserId}", new { role = "developer" })).StatusCode);
        await AssertNotFoundAsync(alice.Client.DeleteAsync($"{members}/987654", ct), "remove a non-member");

        // With Bob as a second maintainer, Bob removes Alice: at once she no longer sees the project, its tasks or their events.
        Assert.Equal(HttpStatusCode.OK, (await PatchAsync(alice.Client, $"{members}/{bob.UserId}", new { role = "maintainer" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await bob.Client.DeleteAsync($"{members}/{alice.UserId}", ct)).StatusCode);
        await AssertNotFoundAsync(alice.Client.GetAsync($"/api/v1/projects/{alice.ProjectId}", ct), "removed member reads project");
        await AssertNotFoundAsync(alice.Client.GetAsync($"/api/v1/tasks/{alice.TaskId}/events", ct), "removed member streams");
        Assert.Equal([alice.LooseTaskId], await IdsAsync(alice.Client, "/api/v1/tasks"));
        Assert.Empty(await IdsAsync(alice.Client, "/api/v1/projects"));

        // An admin manages any project's members without being one.
        Assert.Equal(HttpStatusCode.Created, (await world.Admin.PostJsonAsync(members, new { user_id = alice.UserId, role = "viewer" })).StatusCode);
        await DataAsync(alice.Client, $"/api/v1/projects/{alice.ProjectId}");
        Assert.Equal(
            [(alice.UserId, "viewer"), (bob.UserId, "maintainer")],
            (await DataAsync(world.Admin, members)).AsArray().Select(m => ((long)m!["user_id"]!, (string)m["role"]!)).OrderBy(m => m.Item1).ToArray());
    }

    private static async Task<JsonNode> ReceiveAsync(ClientWebSocket socket, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        var buffer = new byte[64 * 1024];
        var result = await socket.ReceiveAsync(buffer, timeout.Token);
        return JsonNode.Parse(Encoding.UTF8.GetString(buffer, 0, result.Count))!;
    }

    /// <summary>
    /// Two maintainers removing each other at the same moment leave one maintainer: the changes of one project's
    /// members run one after the other (the project's row is written first in each change's transaction).
    /// </summary>
    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Two_maintainers_removing_each_other_at_once_leave_one(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var world = await CreateWorldAsync(db, ct);
        var (alice, bob) = (world.Alice, world.Bob);
        for (var round = 0; round < 8; round++)
        {
            var members = $"/api/v1/projects/{alice.ProjectId}/members";
            if (round > 0)
            {
                // The survivor of the last round makes the other maintainer again.
                var survivor = (long)(await DataAsync(world.Admin, members)).AsArray().Single()!["user_id"]!;
                var other = survivor == alice.UserId ? bob : alice;
                Assert.Equal(HttpStatusCode.Created, (await world.Admin.PostJsonAsync(members, new { user_id = other.UserId, role = "maintainer" })).StatusCode);
            }
            else
            {
                Assert.Equal(HttpStatusCode.Created, (await alice.Client.PostJsonAsync(members, new { user_id = bob.UserId, role = "maintainer" })).StatusCode);
            }

            var answers = await Task.WhenAll(
                alice.Client.DeleteAsync($"{members}/{bob.UserId}", ct),
                bob.Client.DeleteAsync($"{members}/{alice.UserId}", ct));

            // One wins; the other is refused: 409 (the last maintainer) when it ran second and saw the first's change,
            // 404 when its caller had already lost the project. Never two removals.
            var statuses = answers.Select(a => a.StatusCode).Order().ToArray();
            Assert.Equal(HttpStatusCode.OK, statuses[0]);
            Assert.Contains(statuses[1], new[] { HttpStatusCode.NotFound, HttpStatusCode.Conflict });
            var left = (await DataAsync(world.Admin, members)).AsArray();
            Assert.Equal("maintainer", (string?)Assert.Single(left)!["role"]);
        }
    }
}
