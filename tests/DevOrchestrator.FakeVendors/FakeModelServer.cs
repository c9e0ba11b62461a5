using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DevOrchestrator.FakeVendors;

/// <summary>
/// What both fake model servers share: a Kestrel host on 127.0.0.1 and a free port, the reply script (a thread-safe
/// queue, then an optional responder, then the default reply), the request recording and the status counters.
/// </summary>
/// <remarks>
/// Which reply answers a request: the next queued one if any, else the responder's, else
/// <see cref="FakeModelServerOptions.DefaultReply"/> (a plain "done" text). Requests the server refuses itself (bad key,
/// missing version header, malformed body) are answered without taking a reply.
/// </remarks>
public abstract class FakeModelServer : IAsyncDisposable
{
    private static readonly FakeReply Done = FakeReply.Text("done");

    private readonly ConcurrentQueue<FakeReply> _replies = new();
    private readonly ConcurrentDictionary<int, int> _statusCounts = new();
    private readonly List<RecordedModelRequest> _requests = [];
    private readonly Lock _requestsLock = new();
    private readonly FakeReply _defaultReply;
    private readonly bool _recordRequests;
    private Func<RecordedModelRequest, FakeReply>? _responder;
    private WebApplication? _app;
    private long _sequence;
    private int _disposed;

    private protected FakeModelServer(FakeModelServerOptions options, string defaultApiKey)
    {
        ApiKey = options.ApiKey ?? defaultApiKey;
        TimeProvider = options.TimeProvider ?? TimeProvider.System;
        _recordRequests = options.RecordRequests;
        _defaultReply = options.DefaultReply ?? Done;
        BaseUrl = null!;
    }

    /// <summary>The address the SDK should be pointed at (see the vendor server for what it includes).</summary>
    public Uri BaseUrl { get; private set; }

    /// <summary>The API key the server accepts.</summary>
    public string ApiKey { get; }

    /// <summary>The recorded requests, in arrival order (a snapshot).</summary>
    public IReadOnlyList<RecordedModelRequest> Requests
    {
        get
        {
            lock (_requestsLock)
            {
                return _requests.ToArray();
            }
        }
    }

    /// <summary>How many requests were answered, by HTTP status (a snapshot).</summary>
    public IReadOnlyDictionary<int, int> RequestsByStatus => new Dictionary<int, int>(_statusCounts);

    /// <summary>How many requests were answered with <paramref name="statusCode"/>.</summary>
    public int RequestCount(int statusCode) => _statusCounts.TryGetValue(statusCode, out var count) ? count : 0;

    /// <summary>How many requests were answered, whatever their status.</summary>
    public int TotalRequests => _statusCounts.Values.Sum();

    /// <summary>How many queued replies are still waiting for a request.</summary>
    public int PendingReplies => _replies.Count;

    protected TimeProvider TimeProvider { get; }

    /// <summary>Queue a reply for a coming request (thread-safe; replies are used in order).</summary>
    public void Enqueue(FakeReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        _replies.Enqueue(reply);
    }

    /// <summary>Queue several replies, in order.</summary>
    public void Enqueue(params IEnumerable<FakeReply> replies)
    {
        ArgumentNullException.ThrowIfNull(replies);
        foreach (var reply in replies)
        {
            Enqueue(reply);
        }
    }

    /// <summary>
    /// Answer requests the queue does not cover with <paramref name="responder"/> (null removes it). It runs on the
    /// request's thread, concurrently with other requests: it must be thread-safe, and should be cheap.
    /// </summary>
    public void Respond(Func<RecordedModelRequest, FakeReply>? responder) => Volatile.Write(ref _responder, responder);

    /// <summary>Drop the queued replies, the recorded requests and the counters (not the prompt cache).</summary>
    public void Reset()
    {
        _replies.Clear();
        _statusCounts.Clear();
        lock (_requestsLock)
        {
            _requests.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0 || _app is null)
        {
            return;
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    private protected async Task StartCoreAsync(string basePath, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(FakeModelServer).Assembly.GetName().Name,
            EnvironmentName = "Production",
        });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));

        var app = builder.Build();
        MapRoutes(app);
        await app.StartAsync(cancellationToken);
        _app = app;

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseUrl = new Uri(new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)), basePath);
    }

    /// <summary>Map the vendor's routes; each handler ends in <see cref="HandleAsync"/>.</summary>
    private protected abstract void MapRoutes(WebApplication app);

    /// <summary>
    /// Answer one request: check it, choose a reply with <paramref name="nextReply"/>, wait its delay, write it. Returns
    /// the HTTP status written.
    /// </summary>
    private protected abstract Task<int> AnswerAsync(HttpContext context, RecordedModelRequest request, Func<RecordedModelRequest, FakeReply> nextReply);

    /// <summary>Write an error in the vendor's shape; returns its status.</summary>
    private protected abstract Task<int> WriteErrorAsync(HttpResponse response, FakeErrorReply error, CancellationToken cancellationToken);

    /// <summary>The shared request pipeline: read and record the request, let the vendor answer, count the status.</summary>
    private protected async Task HandleAsync(HttpContext context)
    {
        var request = await ReadAsync(context);
        if (_recordRequests)
        {
            lock (_requestsLock)
            {
                _requests.Add(request);
            }
        }

        // Count the answer as its headers go out, before the client can read it: a test that asserts the counters right
        // after its call returns must find this request counted.
        var counted = 0;
        void Count(int code)
        {
            if (Interlocked.Exchange(ref counted, 1) == 0)
            {
                request.StatusCode = code;
                _statusCounts.AddOrUpdate(code, 1, static (_, count) => count + 1);
            }
        }

        context.Response.OnStarting(() =>
        {
            Count(context.Response.StatusCode);
            return Task.CompletedTask;
        });

        int status;
        try
        {
            status = await AnswerAsync(context, request, NextReply);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            status = 499; // the client went away (nginx's "client closed request")
        }
        catch (Exception exception) when (!context.Response.HasStarted)
        {
            // A script mistake (a responder that throws, a tool input that is not JSON): say so to the client.
            status = await WriteErrorAsync(context.Response, new FakeErrorReply(500, "api_error", $"The fake server failed: {exception.Message}"), context.RequestAborted);
        }

        Count(status); // an answer that never started (the client went away: 499)
    }

    private FakeReply NextReply(RecordedModelRequest request)
    {
        var reply = _replies.TryDequeue(out var queued) ? queued : Volatile.Read(ref _responder)?.Invoke(request) ?? _defaultReply;
        request.Reply = reply;
        return reply;
    }

    private async Task<RecordedModelRequest> ReadAsync(HttpContext context)
    {
        string body;
        using (var reader = new StreamReader(context.Request.Body, Encoding.UTF8))
        {
            body = await reader.ReadToEndAsync(context.RequestAborted);
        }

        JsonNode? json = null;
        if (body.Length > 0)
        {
            try
            {
                json = JsonNode.Parse(body);
            }
            catch (JsonException)
            {
            }
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in context.Request.Headers)
        {
            headers[name] = values.ToString();
        }

        return new RecordedModelRequest(
            Interlocked.Increment(ref _sequence),
            TimeProvider.GetUtcNow(),
            context.Request.Method,
            context.Request.Path.Value ?? "",
            headers,
            body,
            json);
    }

    /// <summary>Wait a reply's delay (ended early by the client going away).</summary>
    /// <summary>Writes a <see cref="FakeRawReply"/>: its bytes as they are, or cut off (a longer Content-Length, then the connection aborted).</summary>
    private protected static async Task<int> WriteRawAsync(HttpResponse response, FakeRawReply raw, CancellationToken cancellationToken)
    {
        var bytes = Encoding.UTF8.GetBytes(raw.Body);
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = raw.ContentType;
        response.ContentLength = raw.CutAfterBody ? bytes.Length * 2 + 16 : bytes.Length;
        await response.Body.WriteAsync(bytes, cancellationToken);
        if (raw.CutAfterBody)
        {
            await response.Body.FlushAsync(cancellationToken);
            response.HttpContext.Abort();
        }

        return StatusCodes.Status200OK;
    }

    private protected async Task DelayAsync(FakeReply reply, CancellationToken cancellationToken)
    {
        if (reply.Delay > TimeSpan.Zero)
        {
            await Task.Delay(reply.Delay, TimeProvider, cancellationToken);
        }
    }

    /// <summary>Write a reply's extra headers and the error's <c>retry-after</c>.</summary>
    private protected static void WriteReplyHeaders(HttpResponse response, FakeReply reply)
    {
        if (reply.Headers is not null)
        {
            foreach (var (name, value) in reply.Headers)
            {
                response.Headers[name] = value;
            }
        }

        if (reply is FakeErrorReply { RetryAfter: { } retryAfter })
        {
            response.Headers.RetryAfter = retryAfter;
        }
    }

    private protected static async Task<int> WriteJsonAsync(HttpResponse response, int status, JsonNode body, CancellationToken cancellationToken)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes, cancellationToken);
        return status;
    }

    /// <summary>Start a Server-Sent Events response.</summary>
    private protected static void StartEventStream(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
    }

    /// <summary>Write one Server-Sent Event (<c>event:</c> line only when <paramref name="eventName"/> is set) and flush it.</summary>
    private protected static async Task WriteEventAsync(HttpResponse response, string? eventName, string data, CancellationToken cancellationToken)
    {
        var text = eventName is null ? $"data: {data}\n\n" : $"event: {eventName}\ndata: {data}\n\n";
        await response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    /// <summary>The fake tokenizer: one token per 4 UTF-8 bytes, rounded up.</summary>
    public static int EstimateTokens(long utf8Bytes) => (int)((utf8Bytes + 3) / 4);

    /// <summary>The fake tokenizer applied to a string.</summary>
    public static int EstimateTokens(string text) => EstimateTokens(Encoding.UTF8.GetByteCount(text));

    /// <summary>Output tokens of a success reply: its text, tool names and tool inputs through the fake tokenizer (at least 1).</summary>
    private protected static int OutputTokens(FakeReply reply)
    {
        long bytes = reply switch
        {
            FakeTextReply text => Encoding.UTF8.GetByteCount(text.Content),
            FakeToolCallsReply tools => Encoding.UTF8.GetByteCount(tools.Preamble ?? "")
                + tools.Calls.Sum(call => (long)Encoding.UTF8.GetByteCount(call.Name) + Encoding.UTF8.GetByteCount(call.InputJson)),
            _ => 0,
        };
        return Math.Max(1, EstimateTokens(bytes));
    }

    /// <summary>A random id with a vendor prefix (<c>msg_</c>, <c>toolu_</c>, <c>chatcmpl-</c>, <c>call_</c>).</summary>
    private protected static string NewId(string prefix) => prefix + Guid.NewGuid().ToString("N")[..24];

    /// <summary>Parse a tool call's input, failing loudly on a script mistake.</summary>
    private protected static JsonObject ParseToolInput(FakeToolCall call) =>
        JsonNode.Parse(call.InputJson) as JsonObject
        ?? throw new InvalidOperationException($"The input of the scripted call to '{call.Name}' is not a JSON object: {call.InputJson}");
}
