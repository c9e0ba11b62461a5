using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DevOrchestrator.FakeVendors;

/// <summary>One span as the receiver decoded it. Ids are lower-case hex; <see cref="ParentSpanId"/> is null for a root span.</summary>
public sealed record ReceivedSpan(
    string TraceId,
    string SpanId,
    string? ParentSpanId,
    string Name,
    int Kind,
    string ServiceName,
    string ScopeName,
    IReadOnlyDictionary<string, object?> Attributes,
    int StatusCode,
    string? StatusMessage)
{
    public object? this[string attribute] => Attributes.GetValueOrDefault(attribute);
}

/// <summary>
/// A local OpenTelemetry collector for tests: OTLP/HTTP (<c>POST /v1/traces</c>, <c>application/x-protobuf</c>,
/// optionally gzip) on 127.0.0.1 and a free port, decoding each <c>ExportTraceServiceRequest</c> field by field as
/// <c>opentelemetry/proto/collector/trace/v1/trace_service.proto</c> and <c>trace/v1/trace.proto</c> define it, and
/// recording every span with its trace id, span id, parent span id, name, kind, attributes, status and its resource's
/// <c>service.name</c>. Answers an empty <c>ExportTraceServiceResponse</c> (full success). Point a service at it with
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT=</c><see cref="Endpoint"/>.
/// </summary>
public sealed class FakeOtlpReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<ReceivedSpan> _spans = new();
    private WebApplication? _app;

    /// <summary>The base URL for <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (the exporter appends <c>/v1/traces</c>).</summary>
    public Uri Endpoint { get; private set; } = null!;

    /// <summary>Every span received so far, in arrival order.</summary>
    public IReadOnlyList<ReceivedSpan> Spans => _spans.ToArray();

    /// <summary>How many export requests were refused as malformed (always 0 for a conforming exporter).</summary>
    public int Rejected { get; private set; }

    public IReadOnlyList<ReceivedSpan> SpansOf(string traceId) => Spans.Where(s => s.TraceId == traceId).ToArray();

    public static async Task<FakeOtlpReceiver> StartAsync(CancellationToken cancellationToken = default)
    {
        var receiver = new FakeOtlpReceiver();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(FakeOtlpReceiver).Assembly.GetName().Name,
            EnvironmentName = "Production",
        });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        // The receiver's own requests must not become spans: a traced host in the same test process listens to ASP.NET
        // Core's "Microsoft.AspNetCore" source and would export every export request's span, forever.
        builder.Services.AddSingleton(new ActivitySource("DevOrchestrator.FakeVendors.FakeOtlpReceiver"));
        builder.Services.AddSingleton(new DiagnosticListener("DevOrchestrator.FakeVendors.FakeOtlpReceiver"));
        var app = builder.Build();
        app.MapPost("/v1/traces", receiver.ReceiveAsync);
        await app.StartAsync(cancellationToken);
        receiver._app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Endpoint = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        return receiver;
    }

    private async Task ReceiveAsync(HttpContext context)
    {
        if (context.Request.ContentType?.StartsWith("application/x-protobuf", StringComparison.OrdinalIgnoreCase) != true)
        {
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }

        using var body = new MemoryStream();
        var source = context.Request.Headers.ContentEncoding.ToString() == "gzip"
            ? new GZipStream(context.Request.Body, CompressionMode.Decompress)
            : context.Request.Body;
        await using (source)
        {
            await source.CopyToAsync(body, context.RequestAborted);
        }

        List<ReceivedSpan> spans;
        try
        {
            spans = DecodeExportTraceServiceRequest(body.ToArray());
        }
        catch (InvalidProtocolBufferException)
        {
            Rejected++;
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        foreach (var span in spans)
        {
            _spans.Enqueue(span);
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/x-protobuf";
        await context.Response.Body.WriteAsync(ReadOnlyMemory<byte>.Empty, context.RequestAborted); // ExportTraceServiceResponse {} is zero bytes
    }

    /// <summary>ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }</summary>
    public static List<ReceivedSpan> DecodeExportTraceServiceRequest(byte[] message)
    {
        var spans = new List<ReceivedSpan>();
        foreach (var (field, value) in Fields(message))
        {
            if (field == 1)
            {
                DecodeResourceSpans(value, spans);
            }
        }

        return spans;
    }

    /// <summary>ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }</summary>
    private static void DecodeResourceSpans(ByteString message, List<ReceivedSpan> spans)
    {
        var service = "";
        var scopes = new List<ByteString>();
        foreach (var (field, value) in Fields(message))
        {
            switch (field)
            {
                case 1: // Resource { repeated KeyValue attributes = 1; }
                    var attributes = new Dictionary<string, object?>(StringComparer.Ordinal);
                    foreach (var (f, kv) in Fields(value))
                    {
                        if (f == 1)
                        {
                            AddKeyValue(kv, attributes);
                        }
                    }

                    service = attributes.GetValueOrDefault("service.name") as string ?? "";
                    break;
                case 2:
                    scopes.Add(value);
                    break;
            }
        }

        foreach (var scope in scopes)
        {
            DecodeScopeSpans(scope, service, spans);
        }
    }

    /// <summary>ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; } with InstrumentationScope { string name = 1; }</summary>
    private static void DecodeScopeSpans(ByteString message, string service, List<ReceivedSpan> spans)
    {
        var scopeName = "";
        var encoded = new List<ByteString>();
        foreach (var (field, value) in Fields(message))
        {
            if (field == 1)
            {
                scopeName = Fields(value).Where(f => f.Field == 1).Select(f => f.Value.ToStringUtf8()).FirstOrDefault() ?? "";
            }
            else if (field == 2)
            {
                encoded.Add(value);
            }
        }

        spans.AddRange(encoded.Select(span => DecodeSpan(span, service, scopeName)));
    }

    /// <summary>
    /// Span { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; string name = 5;
    /// SpanKind kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9;
    /// … Status status = 15; } with Status { string message = 2; StatusCode code = 3; }
    /// </summary>
    private static ReceivedSpan DecodeSpan(ByteString message, string service, string scopeName)
    {
        string traceId = "", spanId = "", name = "";
        string? parentSpanId = null, statusMessage = null;
        int kind = 0, statusCode = 0;
        var attributes = new Dictionary<string, object?>(StringComparer.Ordinal);
        var input = message.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    traceId = Convert.ToHexStringLower(input.ReadBytes().Span);
                    break;
                case 2:
                    spanId = Convert.ToHexStringLower(input.ReadBytes().Span);
                    break;
                case 4:
                    var parent = input.ReadBytes();
                    parentSpanId = parent.IsEmpty ? null : Convert.ToHexStringLower(parent.Span);
                    break;
                case 5:
                    name = input.ReadString();
                    break;
                case 6:
                    kind = input.ReadEnum();
                    break;
                case 9:
                    AddKeyValue(input.ReadBytes(), attributes);
                    break;
                case 15:
                    (statusCode, statusMessage) = DecodeStatus(input.ReadBytes());
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        return new ReceivedSpan(traceId, spanId, parentSpanId, name, kind, service, scopeName, attributes, statusCode, statusMessage);
    }

    /// <summary>Status { string message = 2; StatusCode code = 3; } (0 unset, 1 ok, 2 error)</summary>
    private static (int Code, string? Message) DecodeStatus(ByteString message)
    {
        var (code, text) = (0, (string?)null);
        var input = message.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 2:
                    text = input.ReadString();
                    break;
                case 3:
                    code = input.ReadEnum();
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        return (code, text);
    }

    /// <summary>KeyValue { string key = 1; AnyValue value = 2; }</summary>
    private static void AddKeyValue(ByteString message, Dictionary<string, object?> attributes)
    {
        string? key = null;
        object? value = null;
        var input = message.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    key = input.ReadString();
                    break;
                case 2:
                    value = DecodeAnyValue(input.ReadBytes());
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        if (key is not null)
        {
            attributes[key] = value;
        }
    }

    /// <summary>
    /// AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
    /// ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; } } with ArrayValue { repeated AnyValue values = 1; }
    /// </summary>
    private static object? DecodeAnyValue(ByteString message)
    {
        var input = message.CreateCodedInput();
        object? value = null;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    value = input.ReadString();
                    break;
                case 2:
                    value = input.ReadBool();
                    break;
                case 3:
                    value = input.ReadInt64();
                    break;
                case 4:
                    value = input.ReadDouble();
                    break;
                case 5:
                    value = Fields(input.ReadBytes()).Where(f => f.Field == 1).Select(f => DecodeAnyValue(f.Value)).ToArray();
                    break;
                case 7:
                    value = input.ReadBytes().ToByteArray();
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        return value;
    }

    /// <summary>The length-delimited fields of a message (sub-messages, strings, bytes); the others skipped.</summary>
    private static List<(int Field, ByteString Value)> Fields(ByteString message) => Fields(message.ToByteArray());

    private static List<(int Field, ByteString Value)> Fields(byte[] message)
    {
        var fields = new List<(int, ByteString)>();
        var input = new CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                fields.Add((WireFormat.GetTagFieldNumber(tag), input.ReadBytes()));
            }
            else
            {
                input.SkipLastField();
            }
        }

        return fields;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
