using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;

namespace DevOrchestrator.Bench;

/// <summary>What every created task carries: a workflow (or the server's default) and its variables.</summary>
internal sealed record TaskTemplate(string? Workflow, IReadOnlyDictionary<string, string>? Variables)
{
    public string Describe() => Workflow is null
        ? "no workflow named (the server's default; its workflow list is empty or --workflow none)"
        : $"workflow {Workflow}" + (Variables is { Count: > 0 } ? " (" + string.Join(", ", Variables.Select(kv => $"{kv.Key}={kv.Value}")) + ")" : "");

    /// <summary>The request body of <c>POST /api/v1/tasks</c> (snake_case JSON).</summary>
    public byte[] Body(string title, bool autoStart)
    {
        using var buffer = new MemoryStream(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("title", title);
            json.WriteBoolean("auto_start", autoStart);
            if (Workflow is not null)
            {
                json.WriteString("workflow", Workflow);
            }

            if (Variables is not null)
            {
                json.WriteStartObject("variables");
                foreach (var (key, value) in Variables)
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return buffer.ToArray();
    }
}

/// <summary>The answer to one create request, timed by the client.</summary>
internal readonly record struct CreateOutcome(int StatusCode, long? Id, DateTimeOffset? QueuedAt, DateTimeOffset SentAt, TimeSpan Elapsed, string? Error)
{
    public bool Created => StatusCode == 201 && Id is not null;
}

/// <summary>The server's timestamps of one task (server clock).</summary>
internal sealed record TaskTimes(string Status, DateTimeOffset? QueuedAt, DateTimeOffset? StartedAt, DateTimeOffset? CompletedAt, DateTimeOffset? FirstStepStartedAt, int Steps)
{
    public bool IsFinished => Status is "completed" or "failed" or "cancelled";

    /// <summary>Started, and either its first step has started or it finished without one.</summary>
    public bool IsSettled => StartedAt is not null && (FirstStepStartedAt is not null || IsFinished);
}

/// <summary>A thin HTTP client of the devorch API: one pooled <see cref="HttpClient"/>, keep-alive connections, no retries.</summary>
internal sealed class DevorchClient : IDisposable
{
    private static readonly MediaTypeHeaderValue s_json = new("application/json");
    private readonly HttpClient _http;

    public DevorchClient(Uri server, string token, int concurrency)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = Math.Max(concurrency, 4),
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
        };
        _http = new HttpClient(handler) { BaseAddress = server, Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    /// <summary>Resolves <c>--workflow</c> against <c>GET /api/v1/workflows</c>.</summary>
    public async Task<TaskTemplate> ChooseWorkflowAsync(string requested, CancellationToken cancellationToken)
    {
        if (requested == "none")
        {
            return new TaskTemplate(null, null);
        }

        using var response = await _http.GetAsync(new Uri("api/v1/workflows", UriKind.Relative), cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"GET /api/v1/workflows answered {(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(body)}");
        }

        using var document = JsonDocument.Parse(body);
        var names = document.RootElement.GetProperty("data").EnumerateArray().Select(w => w.GetProperty("name").GetString()).OfType<string>().ToHashSet();
        if (requested == "auto")
        {
            return names.Contains("run_command_workflow")
                ? new TaskTemplate("run_command_workflow", new Dictionary<string, string> { ["command"] = "true" })
                : new TaskTemplate(null, null);
        }

        if (!names.Contains(requested))
        {
            throw new InvalidOperationException($"The server has no workflow '{requested}'; it lists: {(names.Count == 0 ? "none" : string.Join(", ", names))}.");
        }

        return new TaskTemplate(requested, requested == "run_command_workflow" ? new Dictionary<string, string> { ["command"] = "true" } : null);
    }

    public async Task<CreateOutcome> CreateTaskAsync(byte[] body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("api/v1/tasks", UriKind.Relative)) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = s_json;
        var sentAt = DateTimeOffset.UtcNow;
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            var elapsed = Stopwatch.GetElapsedTime(started);
            var status = (int)response.StatusCode;
            if (status != 201)
            {
                return new CreateOutcome(status, null, null, sentAt, elapsed, $"HTTP {status}");
            }

            using var document = JsonDocument.Parse(bytes);
            var data = document.RootElement.GetProperty("data");
            return new CreateOutcome(status, data.GetProperty("id").GetInt64(), ReadTime(data, "queued_at"), sentAt, elapsed, null);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new CreateOutcome(0, null, null, sentAt, Stopwatch.GetElapsedTime(started), ex.GetType().Name);
        }
    }

    public async Task<TaskTimes> GetTaskAsync(long id, CancellationToken cancellationToken)
    {
        var bytes = await _http.GetByteArrayAsync(new Uri($"api/v1/tasks/{id}", UriKind.Relative), cancellationToken);
        using var document = JsonDocument.Parse(bytes);
        var data = document.RootElement.GetProperty("data");
        var task = data; // the task's fields are at the top of data, its latest execution nested
        DateTimeOffset? firstStep = null;
        var steps = 0;
        if (data.TryGetProperty("workflow_execution", out var execution) && execution.ValueKind == JsonValueKind.Object)
        {
            foreach (var step in execution.GetProperty("steps").EnumerateArray())
            {
                steps++;
                if (ReadTime(step, "started_at") is { } at && (firstStep is null || at < firstStep))
                {
                    firstStep = at;
                }
            }
        }

        return new TaskTimes(task.GetProperty("status").GetString() ?? "", ReadTime(task, "queued_at"), ReadTime(task, "started_at"), ReadTime(task, "completed_at"), firstStep, steps);
    }

    public async Task<string> GetMetricsAsync(Uri metrics, CancellationToken cancellationToken) =>
        await _http.GetStringAsync(metrics, cancellationToken);

    public void Dispose() => _http.Dispose();

    private static DateTimeOffset? ReadTime(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetDateTimeOffset() : null;
}
