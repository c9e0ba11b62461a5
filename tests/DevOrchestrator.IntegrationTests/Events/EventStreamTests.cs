using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.IntegrationTests.Infrastructure;

namespace DevOrchestrator.IntegrationTests.Events;

public sealed class EventStreamTests
{
    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Sse_streams_a_tasks_events_until_it_finishes_and_resumes_after_last_event_id(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Operator, ct);
        var repo = await GitFixtures.CreateBareRepositoryAsync(service.State.Root, ct);
        var project = (long)(await (await client.PostJsonAsync("/api/v1/projects", new { name = "p", repository_url = repo })).ReadJsonAsync())["data"]!["id"]!;
        var created = await (await client.PostJsonAsync("/api/v1/tasks", new
        {
            title = "echo",
            project_id = project,
            workflow = "run_command_workflow",
            variables = new { command = "echo hi" },
        })).ReadJsonAsync();
        var id = (long)created["data"]!["id"]!;
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostJsonAsync($"/api/v1/tasks/{id}/assign-to-agent", new { agent_type = "development" })).StatusCode);

        var events = await ReadSseAsync(client, $"/api/v1/tasks/{id}/events", null, ct);
        var statuses = events.Where(e => e.Type == "task.status_update").Select(e => (string?)e.Data["data"]!["status"]).ToList();
        Assert.Equal(["pending", "queued", "running", "completed"], statuses);
        Assert.Contains(events, e => e.Type == "workflow.step_completed" && (string?)e.Data["data"]!["step"] == "run");
        Assert.Contains(events, e => e.Type == "agent.status_update");
        Assert.Equal(events.Select(e => e.Id).Order(), events.Select(e => e.Id));

        var resumeAfter = events[1].Id;
        var resumed = await ReadSseAsync(client, $"/api/v1/tasks/{id}/events", resumeAfter, ct);
        Assert.Equal(events.Skip(2).Select(e => e.Id), resumed.Select(e => e.Id));
    }

    [Fact]
    public async Task WebSocket_needs_a_token_and_carries_status_updates()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(Db.Sqlite, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Admin, ct);
        using var operatorClient = await service.ClientForNewUserAsync(Roles.Operator, ct);
        var wsUri = new UriBuilder(service.Address) { Scheme = "ws", Path = "/ws" }.Uri;

        using (var anonymous = new ClientWebSocket())
        {
            var refused = await Assert.ThrowsAnyAsync<WebSocketException>(() => anonymous.ConnectAsync(wsUri, ct));
            Assert.Contains("401", refused.Message, StringComparison.Ordinal);
        }

        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", client.DefaultRequestHeaders.Authorization!.ToString());
        await socket.ConnectAsync(wsUri, ct);
        var hello = await ReceiveAsync(socket, ct);
        Assert.Equal("connected", (string?)hello["type"]);

        var created = await (await operatorClient.PostJsonAsync("/api/v1/tasks", new { title = "watched" })).ReadJsonAsync();
        var id = (long)created["data"]!["id"]!;
        var message = await ReceiveAsync(socket, ct);
        Assert.Equal("task.status_update", (string?)message["type"]);
        Assert.Equal(id, (long)message["task_id"]!);
        Assert.Equal("pending", (string?)message["data"]!["status"]);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", ct);
    }

    private static async Task<JsonNode> ReceiveAsync(ClientWebSocket socket, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        var buffer = new byte[64 * 1024];
        var result = await socket.ReceiveAsync(buffer, timeout.Token);
        return JsonNode.Parse(Encoding.UTF8.GetString(buffer, 0, result.Count))!;
    }

    public sealed record SseEvent(long Id, string Type, JsonNode Data);

    /// <summary>Reads an SSE stream to its end (the server closes it when the task has finished).</summary>
    public static async Task<List<SseEvent>> ReadSseAsync(HttpClient client, string url, long? lastEventId, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (lastEventId is { } last)
        {
            request.Headers.Add("Last-Event-ID", last.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        var events = new List<SseEvent>();
        long id = 0;
        string? type = null;
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = long.Parse(line[4..], System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                type = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                if (type == "end")
                {
                    break;
                }

                events.Add(new SseEvent(id, type!, JsonNode.Parse(line[6..])!));
            }
        }

        return events;
    }
}
