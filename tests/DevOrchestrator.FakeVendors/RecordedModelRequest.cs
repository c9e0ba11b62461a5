using System.Text.Json.Nodes;

namespace DevOrchestrator.FakeVendors;

/// <summary>
/// One HTTP request a fake model server received, as it arrived: method, path, headers, raw body and the body parsed
/// as JSON (null when it is not JSON). Handed to a responder before the answer is chosen, and kept in
/// <see cref="FakeModelServer.Requests"/>.
/// </summary>
public sealed class RecordedModelRequest
{
    private int _statusCode;

    internal RecordedModelRequest(
        long sequence,
        DateTimeOffset receivedAt,
        string method,
        string path,
        IReadOnlyDictionary<string, string> headers,
        string body,
        JsonNode? json)
    {
        Sequence = sequence;
        ReceivedAt = receivedAt;
        Method = method;
        Path = path;
        Headers = headers;
        Body = body;
        Json = json;
    }

    /// <summary>1 for the first request the server received, then 2, 3… (in arrival order).</summary>
    public long Sequence { get; }

    public DateTimeOffset ReceivedAt { get; }

    public string Method { get; }

    /// <summary>The request path, for example <c>/v1/messages</c>.</summary>
    public string Path { get; }

    /// <summary>The request headers (names case-insensitive; repeated headers joined with <c>", "</c>).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; }

    /// <summary>The raw request body.</summary>
    public string Body { get; }

    /// <summary>The body parsed as JSON; null when it is empty or not JSON. Treat it as read-only.</summary>
    public JsonNode? Json { get; }

    /// <summary>The <c>model</c> of the request body, if any.</summary>
    public string? Model => Json is JsonObject o && o["model"] is JsonValue v && v.TryGetValue(out string? model) ? model : null;

    /// <summary>Whether the body asked for a stream (<c>"stream": true</c>).</summary>
    public bool IsStreaming => Json is JsonObject o && o["stream"] is JsonValue v && v.TryGetValue(out bool stream) && stream;

    /// <summary>The <c>messages</c> array of the body (empty when missing).</summary>
    public JsonArray Messages => Json is JsonObject o && o["messages"] is JsonArray a ? a : [];

    /// <summary>The HTTP status the server answered with (0 while the answer is being written).</summary>
    public int StatusCode
    {
        get => Volatile.Read(ref _statusCode);
        internal set => Volatile.Write(ref _statusCode, value);
    }

    /// <summary>The scripted or computed reply that was used (null when the request was refused before a reply was chosen).</summary>
    public FakeReply? Reply { get; internal set; }

    /// <summary>A header value, or null.</summary>
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}
