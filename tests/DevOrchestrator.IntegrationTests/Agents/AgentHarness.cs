using System.Net.Http.Json;
using System.Text.Json.Nodes;
using DevOrchestrator.Data;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.IntegrationTests.Agents;

/// <summary>
/// A real DevOrchestrator host whose model provider is a fake Anthropic or OpenAI server on loopback (the official SDKs
/// talk to it over HTTP), with a real bare repository as the project's remote.
/// </summary>
internal sealed class AgentHarness : IAsyncDisposable
{
    private AgentHarness(ServiceUnderTest service, FakeModelServer model, HttpClient client, string remote, long projectId)
    {
        Service = service;
        Model = model;
        Client = client;
        Remote = remote;
        ProjectId = projectId;
    }

    public ServiceUnderTest Service { get; private set; }
    public FakeModelServer Model { get; }
    public HttpClient Client { get; private set; }
    public string Remote { get; }
    public long ProjectId { get; }

    public const string AnthropicKey = "fake-anthropic-key-0123456789";
    public const string OpenAIKey = "fake-openai-key-9876543210";

    public static async Task<AgentHarness> StartAsync(
        Db db, string provider = "anthropic", IDictionary<string, string?>? settings = null, string? testCommand = null, CancellationToken cancellationToken = default)
    {
        FakeModelServer model = provider == "anthropic"
            ? await FakeAnthropicServer.StartAsync(new FakeModelServerOptions { ApiKey = AnthropicKey }, cancellationToken)
            : await FakeOpenAIServer.StartAsync(new FakeModelServerOptions { ApiKey = OpenAIKey }, cancellationToken);
        var values = ProviderSettings(model, provider);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        var service = await ServiceUnderTest.StartAsync(db, settings: values, cancellationToken: cancellationToken);
        var client = await service.ClientForNewUserAsync("admin", cancellationToken);
        var remote = await GitFixtures.CreateBareRepositoryAsync(service.State.Root, cancellationToken);
        var created = await client.PostAsJsonAsync("/api/v1/projects", new
        {
            name = "agents-" + Guid.NewGuid().ToString("N")[..6],
            repository_url = remote,
            default_branch = "main",
            test_command = testCommand,
        }, cancellationToken);
        var body = await created.ReadJsonAsync();
        Assert.True(created.IsSuccessStatusCode, body.ToJsonString());
        return new AgentHarness(service, model, client, remote, body["data"]!["id"]!.GetValue<long>());
    }

    public static Dictionary<string, string?> ProviderSettings(FakeModelServer model, string provider) => provider == "anthropic"
        ? new Dictionary<string, string?> { ["ANTHROPIC_API_KEY"] = AnthropicKey, ["ANTHROPIC_BASE_URL"] = model.BaseUrl.ToString().TrimEnd('/'), ["MODEL_RETRY_ATTEMPTS"] = "3", ["SANDBOX_TIMEOUT_SECONDS"] = "60" }
        : new Dictionary<string, string?> { ["OPENAI_API_KEY"] = OpenAIKey, ["OPENAI_BASE_URL"] = new Uri(model.BaseUrl, "v1").ToString(), ["MODEL_RETRY_ATTEMPTS"] = "3", ["SANDBOX_TIMEOUT_SECONDS"] = "60" };

    /// <summary>Creates a task and starts it; returns its id.</summary>
    public async Task<long> StartTaskAsync(string title, string? description = null, string workflow = "standard_dev_workflow", CancellationToken cancellationToken = default)
    {
        var response = await Client.PostAsJsonAsync("/api/v1/tasks", new { title, description, project_id = ProjectId, workflow, auto_start = true }, cancellationToken);
        var body = await response.ReadJsonAsync();
        Assert.True(response.IsSuccessStatusCode, body.ToJsonString());
        return body["data"]!["id"]!.GetValue<long>();
    }

    /// <summary>Waits until the task has finished and returns its API representation.</summary>
    public async Task<JsonNode> WaitFinishedAsync(long taskId, TimeSpan? timeout = null)
    {
        var finished = await HttpJson.EventuallyAsync(
            async () => await Service.WithDbAsync(db => db.Tasks.AsNoTracking().SingleAsync(t => t.Id == taskId)),
            t => TaskStatuses.IsFinished(t.Status),
            timeout ?? TimeSpan.FromSeconds(90));
        Assert.True(TaskStatuses.IsFinished(finished.Status), $"task {taskId} is still {finished.Status}");
        var response = await Client.GetAsync($"/api/v1/tasks/{taskId}");
        return (await response.ReadJsonAsync())["data"]!;
    }

    /// <summary>Restarts the service on the same database and directories (a new worker process in effect).</summary>
    /// <param name="whileStopped">Runs after the old service stopped and before the new one starts (to script the fake model).</param>
    public async Task RestartAsync(Action? whileStopped = null, IDictionary<string, string?>? settings = null, CancellationToken cancellationToken = default)
    {
        var provider = Model is FakeAnthropicServer ? "anthropic" : "openai";
        var values = ProviderSettings(Model, provider);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        var previous = Service;
        previous.KeepStateOnDispose = true;
        Client.Dispose();
        await previous.DisposeAsync();
        whileStopped?.Invoke();
        Service = await ServiceUnderTest.StartAsync(previous.State.Db, settings: values, shareWith: previous, ownState: true, cancellationToken: cancellationToken);
        Client = await Service.ClientForNewUserAsync("admin", cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Service.DisposeAsync();
        await Model.DisposeAsync();
    }
}
