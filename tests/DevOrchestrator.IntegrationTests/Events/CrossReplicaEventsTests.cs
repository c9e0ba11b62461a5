using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using DevOrchestrator.Data;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.Hosting;
using DevOrchestrator.IntegrationTests.Infrastructure;
using DevOrchestrator.IntegrationTests.Integrations;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.IntegrationTests.Events;

/// <summary>
/// The production split on one PostgreSQL: the API in this process, a second API replica and a worker as separate
/// <c>devorch serve</c> processes. A task created on the first API and run by the worker streams, over SSE on the second
/// API, every event the table holds for it, in order, none missing and none twice.
/// </summary>
public sealed class CrossReplicaEventsTests
{
    [Fact]
    public async Task An_sse_client_on_another_api_replica_sees_every_event_of_a_task_run_by_a_worker_process_in_order()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var h = await IntegrationsHarness.StartAsync(Db.Postgres, ct, role: ServiceRole.Api);
        await using var api2 = await h.StartProcessAsync(ServiceRole.Api, ct);
        using var api2Client = api2.ClientLike(h.Client);
        h.Model.Enqueue(
            FakeReply.ToolCall("write_file", JsonSerializer.Serialize(new { path = "hello.txt", content = "Hello, replicas\n" })),
            FakeReply.ToolCall("finish", JsonSerializer.Serialize(new { summary = "Added hello.txt." })),
            FakeReply.Text(JsonSerializer.Serialize(new { verdict = "approve", reasons = Array.Empty<string>(), summary = "fine" })));

        // Queued on API 1 while no worker runs: it waits.
        var created = await h.Client.PostAsJsonAsync("/api/v1/tasks", new { title = "Add a greeting", description = "Create hello.txt.", project_id = h.ProjectId, auto_start = true }, ct);
        var body = await created.ReadJsonAsync();
        Assert.True(created.IsSuccessStatusCode, body.ToJsonString());
        var id = body["data"]!["id"]!.GetValue<long>();

        // The stream is open on API 2 (its first event, the task's creation, has arrived) before a worker exists, so
        // everything from the claim on comes live from the worker process's commits.
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reading = ReadSseAsync(api2Client, $"/api/v1/tasks/{id}/events", connected, ct);
        await connected.Task.WaitAsync(ct);
        await using var worker = await h.StartProcessAsync(ServiceRole.Worker, ct);

        var streamed = await reading;
        var task = await h.WaitFinishedAsync(id);
        var stored = await h.Service.WithDbAsync(db => db.Events.AsNoTracking().Where(e => e.TaskId == id).OrderBy(e => e.Id).ToListAsync(ct));

        // The stream closes once the task has finished, after the events committed with its final status: compare with
        // every event up to that one. (Events a run writes after its final status — none are expected — are reported.)
        var final = stored.Last(e => e.Type == "task.status_update");
        var afterFinal = stored.Where(e => e.Id > final.Id).Select(e => $"{e.Id} {e.Type} {e.Payload}").ToList();
        TestContext.Current.TestOutputHelper?.WriteLine("events after the final status: " + string.Join("\n", afterFinal));
        Assert.Equal(stored.Where(e => e.Id <= final.Id).Select(e => (e.Id, e.Type)), streamed);
        Assert.Contains("\"completed\"", final.Payload, StringComparison.Ordinal);
        Assert.True(streamed.Count > 10, $"only {streamed.Count} events"); // statuses, steps, agent updates of a whole run
        Assert.True(task.Status == TaskStatuses.Completed, $"task ended {task.Status}: {task.Error}\n{worker.Output}");
        var ranBy = await h.Service.WithDbAsync(db => db.AgentExecutions.AsNoTracking().Where(a => a.TaskId == id).Select(a => a.WorkerId).ToListAsync(ct));
        Assert.NotEmpty(ranBy);
        Assert.All(ranBy, w => Assert.NotNull(w));
    }

    /// <summary>Reads an SSE stream to its end; completes <paramref name="connected"/> at the first event.</summary>
    private static async Task<List<(long Id, string Type)>> ReadSseAsync(HttpClient client, string url, TaskCompletionSource connected, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(180)); // a hang guard for a run through every step
        try
        {
            using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
            var events = new List<(long, string)>();
            long id = 0;
            while (await reader.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line.StartsWith("id: ", StringComparison.Ordinal))
                {
                    id = long.Parse(line[4..], CultureInfo.InvariantCulture);
                }
                else if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    if (line == "event: end")
                    {
                        break;
                    }

                    events.Add((id, line[7..]));
                    connected.TrySetResult();
                }
            }

            return events;
        }
        finally
        {
            connected.TrySetCanceled(ct);
        }
    }
}
