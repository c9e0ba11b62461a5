using System.Text.Json;
using DevOrchestrator.ApiClient;
using DevOrchestrator.ApiClient.Api.V1.Tasks;
using DevOrchestrator.ApiClient.Models;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.IntegrationTests.Agents;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Http.HttpClientLibrary;

namespace DevOrchestrator.IntegrationTests.Api;

/// <summary>
/// The typed client Kiota generates from <c>docs/openapi.json</c> at build time (tests/DevOrchestrator.ApiClient)
/// drives a whole task: log in, create a project and a task, let the agent (a fake model vendor) run the standard
/// workflow, read the result; and it reads the error envelope as a typed exception.
/// </summary>
public sealed class GeneratedClientTests
{
    private static string Json(object value) => JsonSerializer.Serialize(value);

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task A_client_generated_from_the_contract_runs_a_task_round_trip(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var model = await FakeAnthropicServer.StartAsync(new FakeModelServerOptions { ApiKey = AgentHarness.AnthropicKey }, ct);
        await using var service = await ServiceUnderTest.StartAsync(db, settings: AgentHarness.ProviderSettings(model, "anthropic"), cancellationToken: ct);
        var remote = await GitFixtures.CreateBareRepositoryAsync(service.State.Root, ct);
        using var operatorClient = await service.ClientForNewUserAsync("operator", ct);

        // Anonymous first: the generated login, then a client that carries the token it returned.
        using var anonymousHttp = new HttpClient { BaseAddress = service.Address };
        var anonymous = Client(anonymousHttp, service.Address);
        var refused = await Assert.ThrowsAsync<ApiErrorResponse>(() => anonymous.Api.V1.Auth.Login.PostAsync(new LoginRequest { Email = "nobody@example.com", Password = "wrong" }, cancellationToken: ct));
        Assert.Equal(401, refused.ResponseStatusCode);
        Assert.Equal(ApiError_code.UNAUTHORIZED, refused.Error!.Code);

        var client = Client(operatorClient, service.Address);
        var me = await client.Api.V1.Auth.Me.GetAsync(cancellationToken: ct);
        Assert.Equal(UserResponse_role.Operator, me!.Data!.Role);

        var project = await client.Api.V1.Projects.PostAsync(new ProjectRequest { Name = "generated-client", RepositoryUrl = remote, DefaultBranch = "main", TestCommand = "grep -q 'Hello, client' hello.txt" }, cancellationToken: ct);
        var projectId = project!.Data!.Id!.Value;

        model.Enqueue(
            FakeReply.ToolCall("write_file", Json(new { path = "hello.txt", content = "Hello, client\n" })),
            FakeReply.ToolCall("finish", Json(new { summary = "Added hello.txt." })),
            FakeReply.Text(Json(new { verdict = "approve", reasons = Array.Empty<string>(), summary = "fine" })));
        var created = await client.Api.V1.Tasks.PostAsync(
            new CreateTaskRequest { Title = "Greet the client", Description = "Create hello.txt that says 'Hello, client'.", ProjectId = projectId, Priority = CreateTaskRequest_priority.High, AutoStart = true },
            cancellationToken: ct);
        var taskId = created!.Data!.Id!.Value;
        Assert.Equal(TaskResponse_status.Queued, created.Data.Status);

        // Typed query parameters: the list filtered by project and by the finished statuses (status=completed,failed,…).
        var finishedStatuses = new[] { GetStatusQueryParameterType.Completed, GetStatusQueryParameterType.Failed, GetStatusQueryParameterType.Cancelled, GetStatusQueryParameterType.Budget_exceeded };
        var finished = await HttpJson.EventuallyAsync(
            () => client.Api.V1.Tasks.GetAsync(r => (r.QueryParameters.ProjectId, r.QueryParameters.Status, r.QueryParameters.PerPage) = (projectId, finishedStatuses, 10), ct),
            page => page!.Data!.Count == 1,
            TimeSpan.FromSeconds(120));
        var task = Assert.Single(finished!.Data!);
        Assert.Equal(taskId, task.Id);
        Assert.True(task.Status == TaskResponse_status.Completed, $"task {taskId} ended {task.Status}: {task.Error}");
        Assert.Equal(TaskResponse_priority.High, task.Priority);
        Assert.False(string.IsNullOrEmpty(task.Branch));
        Assert.True(task.CostUsd > 0);
        Assert.Equal(1, finished.Pagination!.Total);
        Assert.Equal("Hello, client", await GitFixtures.GitAsync(remote, ct, "show", $"{task.Branch}:hello.txt"));

        var agents = await client.Api.V1.Agents.GetAsync(r => r.QueryParameters.TaskId = taskId, ct);
        var agent = Assert.Single(agents!.Data!);
        Assert.Equal(AgentResponse_status.Completed, agent.Status);

        // The error envelope is a typed exception naming the code.
        var missing = await Assert.ThrowsAsync<ApiErrorResponse>(() => client.Api.V1.Tasks[taskId + 1000].Cancel.PostAsync(new CancelRequest(), cancellationToken: ct));
        Assert.Equal(404, missing.ResponseStatusCode);
        Assert.Equal(ApiError_code.NOT_FOUND, missing.Error!.Code);
    }

    private static DevOrchestratorClient Client(HttpClient http, Uri address) =>
        new(new HttpClientRequestAdapter(new AnonymousAuthenticationProvider(), httpClient: http) { BaseUrl = address.ToString().TrimEnd('/') });
}
