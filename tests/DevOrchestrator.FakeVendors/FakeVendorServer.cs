using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
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
/// What the fake REST vendors (GitHub, Jira, Slack, Confluence) share: a Kestrel host on 127.0.0.1 and a free port;
/// every request recorded as it arrived; the vendor's authentication checked before any route (a refused request is
/// recorded with its 401); failures injected on demand (<see cref="Fail"/>: a status such as 429 with
/// <c>Retry-After</c>, or 500; <see cref="Hang"/>: no answer for a while, for timeouts); unknown routes answered 404.
/// A vendor maps its documented routes in <see cref="MapRoutes"/> and writes errors in its own shape.
/// </summary>
public abstract class FakeVendorServer : IAsyncDisposable
{
    private readonly List<RecordedRequest> _requests = [];
    private readonly Lock _requestsLock = new();
    private readonly ConcurrentQueue<InjectedFault> _faults = new();
    private WebApplication? _app;
    private long _sequence;
    private int _disposed;

    /// <summary>The server's root address (<c>http://127.0.0.1:port/</c>, <c>https://</c> with a <see cref="ServerCertificate"/>); a vendor may add its base path.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>The recorded requests, in arrival order (a snapshot).</summary>
    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_requestsLock)
            {
                return _requests.ToArray();
            }
        }
    }

    /// <summary>The recorded requests with this method whose path is <paramref name="path"/> (or matches it as a pattern with <c>*</c> for one segment).</summary>
    public IReadOnlyList<RecordedRequest> RequestsTo(string method, string path) =>
        Requests.Where(r => string.Equals(r.Method, method, StringComparison.OrdinalIgnoreCase) && PathMatches(path, r.Path)).ToArray();

    /// <summary>
    /// Answer the next <paramref name="count"/> requests whose path contains <paramref name="pathContains"/> (any, when
    /// null) with <paramref name="statusCode"/> in the vendor's error shape, before routing; with a
    /// <c>Retry-After</c> header when <paramref name="retryAfter"/> is given.
    /// </summary>
    public void Fail(int statusCode, int count = 1, string? pathContains = null, TimeSpan? retryAfter = null)
    {
        for (var i = 0; i < count; i++)
        {
            _faults.Enqueue(new InjectedFault(statusCode, pathContains, retryAfter, null));
        }
    }

    /// <summary>
    /// Hold the next matching request until <see cref="HeldRequest.Release"/>, then process it normally — even if its
    /// client has gone away meanwhile, as a real vendor does with a request it has fully received (a crash of the
    /// caller does not undo a comment the vendor is about to create). The test decides when it lands.
    /// </summary>
    public HeldRequest Hold(string? pathContains = null)
    {
        var held = new HeldRequest();
        _faults.Enqueue(new InjectedFault(0, pathContains, null, null) { Held = held });
        return held;
    }

    /// <summary>
    /// Hold the next <paramref name="count"/> matching requests for <paramref name="delay"/> before answering them
    /// normally (client timeouts). A request whose client goes away while it is held is dropped, never processed.
    /// </summary>
    public void Hang(TimeSpan delay, int count = 1, string? pathContains = null)
    {
        for (var i = 0; i < count; i++)
        {
            _faults.Enqueue(new InjectedFault(0, pathContains, null, delay));
        }
    }

    /// <summary>Forget the recorded requests and the injected faults (not the vendor's stored objects).</summary>
    public void ClearRequests()
    {
        _faults.Clear();
        lock (_requestsLock)
        {
            _requests.Clear();
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(FakeVendorServer).Assembly.GetName().Name,
            EnvironmentName = "Production",
        });
        builder.Logging.ClearProviders();
        var certificate = ServerCertificate;
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            if (certificate is not null)
            {
                listen.UseHttps(certificate);
            }
        }));
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            var request = await RecordAsync(context);

            // Recorded as the headers go out, before the client can read the answer (and again at the end, for one that never started).
            context.Response.OnStarting(() =>
            {
                request.StatusCode = context.Response.StatusCode;
                return Task.CompletedTask;
            });
            try
            {
                if (TakeFault(request.Path) is { } fault)
                {
                    if (fault.Held is { } held)
                    {
                        await held.WaitAsync();
                        try
                        {
                            await next(context);
                        }
                        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
                        {
                            // Processed; only the answer could not be delivered to the departed client.
                            context.Response.StatusCode = 499;
                        }
                        finally
                        {
                            held.Processed();
                        }

                        return;
                    }

                    if (fault.Delay is { } delay)
                    {
                        await Task.Delay(delay, context.RequestAborted);
                    }
                    else
                    {
                        if (fault.RetryAfter is { } retryAfter)
                        {
                            context.Response.Headers.RetryAfter = Math.Ceiling(retryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
                        }

                        await WriteErrorAsync(context, fault.StatusCode, $"injected failure {fault.StatusCode}");
                        return;
                    }
                }

                if (Authenticate(context.Request) is { } problem)
                {
                    await WriteErrorAsync(context, StatusCodes.Status401Unauthorized, problem);
                    return;
                }

                await next(context);
                if (context.GetEndpoint() is null && !context.Response.HasStarted)
                {
                    await WriteErrorAsync(context, StatusCodes.Status404NotFound, $"no route {context.Request.Method} {context.Request.Path}");
                }
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                context.Response.StatusCode = 499;
            }
            catch (BadVendorRequestException ex) when (!context.Response.HasStarted)
            {
                await WriteErrorAsync(context, ex.StatusCode, ex.Message);
            }
            finally
            {
                request.StatusCode = context.Response.StatusCode;
            }
        });
        MapRoutes(app);
        await app.StartAsync(cancellationToken);
        _app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseUrl = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/");
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

    /// <summary>The certificate to serve HTTPS with (a vendor whose SDK refuses plain HTTP), or null for HTTP.</summary>
    protected virtual X509Certificate2? ServerCertificate => null;

    /// <summary>Why the request's credentials are refused (answered 401), or null when they are good.</summary>
    protected abstract string? Authenticate(HttpRequest request);

    /// <summary>Map the vendor's routes. A handler may throw <see cref="BadVendorRequestException"/> for a 4xx in the vendor's shape.</summary>
    protected abstract void MapRoutes(WebApplication app);

    /// <summary>Write an error in the vendor's documented shape.</summary>
    protected abstract Task WriteErrorAsync(HttpContext context, int statusCode, string message);

    /// <summary>The request's body as JSON (an empty object when there is none); a body that is not JSON is a 400.</summary>
    protected static JsonObject JsonBody(HttpContext context) =>
        context.Items[typeof(RecordedRequest)] is RecordedRequest { Json: JsonObject json } ? json
        : context.Items[typeof(RecordedRequest)] is RecordedRequest { Body.Length: > 0 } ? throw new BadVendorRequestException(400, "the body is not a JSON object")
        : new JsonObject();

    /// <summary>The recorded request being answered.</summary>
    protected static RecordedRequest Current(HttpContext context) => (RecordedRequest)context.Items[typeof(RecordedRequest)]!;

    /// <summary>Throws a 400 naming the first of <paramref name="paths"/> (dotted, e.g. <c>fields.summary</c>) that is missing or empty.</summary>
    protected static void Require(JsonNode body, params string[] paths)
    {
        foreach (var path in paths)
        {
            JsonNode? node = body;
            foreach (var part in path.Split('.'))
            {
                node = node is JsonObject obj && obj.TryGetPropertyValue(part, out var child) ? child : null;
            }

            if (node is null || (node is JsonValue value && value.TryGetValue<string>(out var text) && text.Length == 0))
            {
                throw new BadVendorRequestException(400, $"'{path}' is required");
            }
        }
    }

    /// <summary>Write JSON with the vendor's status.</summary>
    protected static Task WriteJsonAsync(HttpContext context, int statusCode, JsonNode body)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
    }

    private static bool PathMatches(string pattern, string path)
    {
        var a = pattern.Trim('/').Split('/');
        var b = path.Trim('/').Split('/');
        return a.Length == b.Length && a.Zip(b).All(p => p.First == "*" || string.Equals(p.First, p.Second, StringComparison.Ordinal));
    }

    private InjectedFault? TakeFault(string path)
    {
        // Faults are taken in order; one that does not match this path stays queued for a later request.
        lock (_faults)
        {
            var all = _faults.ToArray();
            var index = Array.FindIndex(all, f => f.PathContains is null || path.Contains(f.PathContains, StringComparison.Ordinal));
            if (index < 0)
            {
                return null;
            }

            _faults.Clear();
            for (var i = 0; i < all.Length; i++)
            {
                if (i != index)
                {
                    _faults.Enqueue(all[i]);
                }
            }

            return all[index];
        }
    }

    private async Task<RecordedRequest> RecordAsync(HttpContext context)
    {
        // Buffered and rewound, so that a route can still read the raw bytes (the fake GitHub hands git's to git).
        context.Request.EnableBuffering();
        string body;
        using (var reader = new StreamReader(context.Request.Body, Encoding.UTF8, leaveOpen: true))
        {
            body = await reader.ReadToEndAsync(context.RequestAborted);
        }

        context.Request.Body.Position = 0;

        JsonNode? json = null;
        if (body.Length > 0 && context.Request.ContentType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true)
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

        var form = new Dictionary<string, string>(StringComparer.Ordinal);
        if (body.Length > 0 && context.Request.ContentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) == true)
        {
            foreach (var (key, value) in Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(body))
            {
                form[key] = value.ToString();
            }
        }

        var recorded = new RecordedRequest(Interlocked.Increment(ref _sequence), context.Request.Method, context.Request.Path.Value ?? "",
            context.Request.QueryString.Value ?? "", headers, body, json, form);
        context.Items[typeof(RecordedRequest)] = recorded;
        lock (_requestsLock)
        {
            _requests.Add(recorded);
        }

        return recorded;
    }

    private sealed record InjectedFault(int StatusCode, string? PathContains, TimeSpan? RetryAfter, TimeSpan? Delay)
    {
        public HeldRequest? Held { get; init; }
    }
}

/// <summary>A request a fake vendor holds (<see cref="FakeVendorServer.Hold"/>): it arrives, waits for <see cref="Release"/>, then is processed.</summary>
public sealed class HeldRequest
{
    private readonly TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _processed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the request has arrived and is being held.</summary>
    public Task Arrived => _arrived.Task;

    /// <summary>Completes when the released request has been processed (its effect exists at the vendor).</summary>
    public Task Done => _processed.Task;

    /// <summary>Lets the held request through.</summary>
    public void Release() => _released.TrySetResult();

    internal Task WaitAsync()
    {
        _arrived.TrySetResult();
        return _released.Task;
    }

    internal void Processed() => _processed.TrySetResult();
}

/// <summary>One request a fake vendor received: when, method, path, query, headers, raw body, JSON or form fields, and the status it was answered with.</summary>
public sealed class RecordedRequest(
    long sequence, string method, string path, string query, IReadOnlyDictionary<string, string> headers, string body, JsonNode? json,
    IReadOnlyDictionary<string, string> form)
{
    private int _statusCode;

    public long Sequence { get; } = sequence;

    /// <summary>When the request arrived (the machine's clock), for measuring the rate a vendor sees.</summary>
    public DateTimeOffset ReceivedAt { get; } = DateTimeOffset.UtcNow;

    public string Method { get; } = method;
    public string Path { get; } = path;

    /// <summary>The query string including its <c>?</c>, or empty.</summary>
    public string Query { get; } = query;
    public IReadOnlyDictionary<string, string> Headers { get; } = headers;
    public string Body { get; } = body;

    /// <summary>The body parsed as JSON when its content type says JSON (else null).</summary>
    public JsonNode? Json { get; } = json;

    /// <summary>The fields of a form-encoded body (empty otherwise).</summary>
    public IReadOnlyDictionary<string, string> Form { get; } = form;

    public int StatusCode
    {
        get => Volatile.Read(ref _statusCode);
        internal set => Volatile.Write(ref _statusCode, value);
    }

    public override string ToString() => $"{Method} {Path}{Query} -> {StatusCode}";
}

/// <summary>Thrown by a fake vendor's route for a request the vendor would refuse (answered in the vendor's error shape).</summary>
public sealed class BadVendorRequestException(int statusCode, string message) : Exception(message)
{
    public BadVendorRequestException() : this(400, "bad request") { }

    public BadVendorRequestException(string message) : this(400, message) { }

    public BadVendorRequestException(string message, Exception innerException) : this(400, message) => _ = innerException;

    public int StatusCode { get; } = statusCode;
}
