using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using DevOrchestrator.Data;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.Hosting;
using DevOrchestrator.IntegrationTests.Infrastructure;
using DevOrchestrator.IntegrationTests.Integrations;

namespace DevOrchestrator.IntegrationTests.Observability;

/// <summary>
/// The production split, traced: the API in this process and a <c>devorch serve --role worker</c> process on one
/// PostgreSQL, both exporting OTLP/HTTP to a local receiver (<see cref="FakeOtlpReceiver"/>) and writing their JSON logs
/// to files. One task is created through the API and run by the worker through the standard workflow against the fake
/// vendors (model, GitHub, Slack, Confluence); the tests read the spans and the log lines that run produced.
/// </summary>
public sealed class TaskRunTelemetryTests(TaskRunTelemetryTests.TracedRun run) : IClassFixture<TaskRunTelemetryTests.TracedRun>
{
    private const int Server = 2, Client = 3;

    [Fact]
    public void A_task_run_is_one_trace_from_the_API_request_through_its_steps_model_calls_and_vendor_calls()
    {
        var spans = run.Spans;
        var byId = spans.ToDictionary(s => s.SpanId);
        bool Under(ReceivedSpan span, ReceivedSpan ancestor)
        {
            for (var parent = span.ParentSpanId; parent is not null && byId.TryGetValue(parent, out var p); parent = p.ParentSpanId)
            {
                if (p.SpanId == ancestor.SpanId)
                {
                    return true;
                }
            }

            return false;
        }

        ReceivedSpan? StepOf(ReceivedSpan span) => spans.FirstOrDefault(s => s["devorch.step.name"] is not null && Under(span, s));

        // The API's POST span (in the API process) is an ancestor of the run span (in the worker process): the trace
        // crossed the database through the task's stored traceparent.
        var post = Assert.Single(spans, s => s.Kind == Server && (string?)s["http.request.method"] == "POST" && (string?)s["url.path"] == "/api/v1/tasks");
        Assert.Equal("devorch-api", post.ServiceName);
        var taskRun = Assert.Single(spans, s => s.Name == "task.run");
        Assert.Equal("devorch-worker", taskRun.ServiceName);
        Assert.Equal(run.Task.Id, taskRun["devorch.task_id"]);
        Assert.NotNull(taskRun["devorch.agent_id"]);
        Assert.Equal("completed", taskRun["devorch.status"]);
        Assert.True(Under(taskRun, post), "the task run span descends from the API request that queued the task");
        Assert.Equal(post.SpanId, run.Task.TraceParent!.Split('-')[2]);

        // Each step that ran is a child of the run, in workflow order.
        var steps = spans.Where(s => s["devorch.step.name"] is not null).OrderBy(s => (long)s["devorch.step.index"]!).ToList();
        Assert.All(steps, s => Assert.Equal(taskRun.SpanId, s.ParentSpanId));
        Assert.All(steps, s => Assert.Equal("devorch-worker", s.ServiceName));
        var names = steps.Select(s => s.Name).ToList();
        Assert.Subset(names.ToHashSet(), new HashSet<string> { "prepare", "implement", "review", "commit", "push", "pull_request", "notify", "document" });
        Assert.All(steps.Where(s => s.Name is not ("fetch_ticket" or "start_ticket" or "ticket_comment" or "ticket_transition")), s => Assert.Equal("completed", s["devorch.status"]));
        Assert.All(steps.Where(s => s.Name.Contains("ticket", StringComparison.Ordinal)), s => Assert.Equal("skipped", s["devorch.status"])); // an API task has no ticket

        // Model calls: M.E.AI's OpenTelemetry chat client, inside the agent steps, with the model, the tokens and the cost.
        var modelCalls = spans.Where(s => s.ScopeName == "DevOrchestrator.Models").ToList();
        Assert.True(modelCalls.Count >= 3, $"{modelCalls.Count} model call spans"); // write_file, finish, the review's verdict
        Assert.All(modelCalls, call =>
        {
            Assert.Contains(StepOf(call)?.Name, new[] { "implement", "verify", "review" });
            Assert.Equal("claude-sonnet-4-5", call["gen_ai.request.model"]);
            Assert.True(call["gen_ai.usage.input_tokens"] is long and > 0, $"input tokens on {call.Name}");
            Assert.True(call["gen_ai.usage.output_tokens"] is long and > 0, $"output tokens on {call.Name}");
            Assert.True(call["devorch.cost_usd"] is double and > 0, $"cost on {call.Name}");
        });

        // No prompt in any span (the task's description is in the development agent's prompt).
        Assert.DoesNotContain(spans, s => s.Attributes.Values.OfType<string>().Any(v => v.Contains("Create hello.txt", StringComparison.Ordinal)));

        // Each model call's HTTP request to the provider is its child.
        var modelHttp = spans.Where(s => s.Kind == Client && (s["url.full"] as string)?.StartsWith(run.Harness.Model.BaseUrl.ToString().TrimEnd('/'), StringComparison.Ordinal) == true).ToList();
        Assert.NotEmpty(modelHttp);
        Assert.All(modelHttp, http => Assert.Contains(modelCalls, call => call.SpanId == http.ParentSpanId));

        // Plugin calls to the vendors are HTTP client spans under the step that made them.
        bool CallTo(ReceivedSpan s, Uri vendor, string step) => s.Kind == Client && StepOf(s)?.Name == step
            && (s["url.full"] as string)?.StartsWith(vendor.GetLeftPart(UriPartial.Authority), StringComparison.Ordinal) == true;
        Assert.Contains(spans, s => CallTo(s, run.Harness.GitHub.BaseUrl, "pull_request") && (string?)s["http.request.method"] == "POST" && s["http.response.status_code"] is 201L);
        Assert.Contains(spans, s => CallTo(s, run.Harness.Slack.ApiUrl, "notify") && s["http.response.status_code"] is 200L);
        Assert.Contains(spans, s => CallTo(s, run.Harness.Confluence.BaseUrl, "document") && (string?)s["http.request.method"] == "POST");
        Assert.Equal(0, run.Receiver.Rejected);
    }

    [Fact]
    public void Every_log_line_is_JSON_with_an_upper_case_level_and_the_logger_and_the_ids_where_known()
    {
        var levels = new[] { "TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL" };
        var lines = run.ApiLog.Concat(run.WorkerLog).ToList();
        Assert.NotEmpty(run.ApiLog);
        Assert.NotEmpty(run.WorkerLog);
        Assert.All(lines, line =>
        {
            Assert.Contains((string?)line["level"], levels);
            Assert.False(string.IsNullOrEmpty((string?)line["logger"]), line.ToJsonString());
            Assert.NotNull(line["@t"]);
            Assert.NotNull(line["@m"]);
        });

        // Inside the API request that created the task: the request, the user, and the request's span.
        var inRequest = run.ApiLog.Where(l => (string?)l["trace_id"] == run.TraceId).ToList();
        Assert.NotEmpty(inRequest);
        Assert.All(inRequest, l =>
        {
            Assert.Matches("^[0-9a-f]{16}$", (string?)l["span_id"]);
            Assert.NotNull(l["request_id"]);
        });
        Assert.Contains(inRequest, l => l["user_id"] is not null); // once authenticated

        // Inside the task run on the worker: the task, the agent execution, and the run's trace.
        var step = Assert.Single(run.WorkerLog, l => (string?)l["Step"] == "implement" && (string?)l["Status"] == "completed");
        Assert.Equal("INFO", (string?)step["level"]);
        Assert.Equal("DevOrchestrator.Features.Workflows.WorkflowRunner", (string?)step["logger"]);
        Assert.Equal(run.Task.Id, step["task_id"]!.GetValue<long>());
        Assert.True(step["agent_id"]!.GetValue<long>() > 0);
        Assert.Equal(run.TraceId, (string?)step["trace_id"]);
        Assert.Matches("^[0-9a-f]{16}$", (string?)step["span_id"]);
        Assert.All(run.WorkerLog.Where(l => l["task_id"] is not null && l["agent_id"] is not null), l => Assert.Equal(run.TraceId, (string?)l["trace_id"]));
    }

    /// <summary>The one traced task run both tests read.</summary>
    public sealed class TracedRun : IAsyncLifetime
    {
        private ServiceProcess? _worker;
        private string _logs = "";

        internal IntegrationsHarness Harness { get; private set; } = null!;
        public FakeOtlpReceiver Receiver { get; private set; } = null!;
        public DevTask Task { get; private set; } = null!;
        public string TraceId { get; private set; } = "";
        public IReadOnlyList<ReceivedSpan> Spans { get; private set; } = [];
        public IReadOnlyList<JsonNode> ApiLog { get; private set; } = [];
        public IReadOnlyList<JsonNode> WorkerLog { get; private set; } = [];

        public async ValueTask InitializeAsync()
        {
            var ct = TestContext.Current.CancellationToken;
            _logs = Directory.CreateTempSubdirectory("devorch-telemetry-").FullName;
            Receiver = await FakeOtlpReceiver.StartAsync(ct);
            var otel = new Dictionary<string, string?>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Receiver.Endpoint.ToString(),
                ["OTEL_BSP_SCHEDULE_DELAY"] = "100", // export promptly
                ["OTEL_SERVICE_NAME"] = "devorch-api",
                ["LOG_LEVEL"] = "debug", // the database commands are logged inside the request
                ["LOG_FILE"] = Path.Combine(_logs, "api.log"),
            };
            Harness = await IntegrationsHarness.StartAsync(Db.Postgres, ct, otel, ServiceRole.Api);
            _worker = await Harness.StartProcessAsync(ServiceRole.Worker, ct, new Dictionary<string, string?>
            {
                ["OTEL_SERVICE_NAME"] = "devorch-worker",
                ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "true", // asks M.E.AI for the prompts in spans: overridden
                ["LOG_LEVEL"] = "information",
                ["LOG_FILE"] = Path.Combine(_logs, "worker.log"),
            });

            Harness.Model.Enqueue(
                FakeReply.ToolCall("write_file", JsonSerializer.Serialize(new { path = "hello.txt", content = "Hello, traces\n" })),
                FakeReply.ToolCall("finish", JsonSerializer.Serialize(new { summary = "Added hello.txt." })),
                FakeReply.Text(JsonSerializer.Serialize(new { verdict = "approve", reasons = Array.Empty<string>(), summary = "fine" })));
            var created = await Harness.Client.PostAsJsonAsync("/api/v1/tasks", new { title = "Add a greeting", description = "Create hello.txt.", project_id = Harness.ProjectId, auto_start = true }, ct);
            var body = await created.ReadJsonAsync();
            Assert.True(created.IsSuccessStatusCode, body.ToJsonString());
            Task = await Harness.WaitFinishedAsync(body["data"]!["id"]!.GetValue<long>());
            Assert.True(Task.Status == TaskStatuses.Completed, $"task ended {Task.Status}: {Task.Error}");
            Assert.NotNull(Task.TraceParent);
            TraceId = Task.TraceParent!.Split('-')[1];

            // The run span ends last (after the task's status is committed); the batch exporter sends it within ~100 ms.
            Spans = await HttpJson.EventuallyAsync(() => System.Threading.Tasks.Task.FromResult(Receiver.SpansOf(TraceId)), s => s.Any(x => x.Name == "task.run"), TimeSpan.FromSeconds(60));
            await _worker.KillAsync();
            ApiLog = await ReadLogAsync(Path.Combine(_logs, "api.log"));
            WorkerLog = await ReadLogAsync(Path.Combine(_logs, "worker.log"));
        }

        private static async Task<IReadOnlyList<JsonNode>> ReadLogAsync(string path)
        {
            // The in-process API may still be writing: read what is there, shared.
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var lines = new List<JsonNode>();
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.Length > 0)
                {
                    lines.Add(JsonNode.Parse(line) ?? throw new InvalidOperationException($"not JSON: {line}"));
                }
            }

            return lines;
        }

        public async ValueTask DisposeAsync()
        {
            if (_worker is not null)
            {
                await _worker.DisposeAsync();
            }
            if (Harness is not null)
            {
                await Harness.DisposeAsync();
            }

            if (Receiver is not null)
            {
                await Receiver.DisposeAsync();
            }

            try
            {
                Directory.Delete(_logs, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
