using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// Checks every response of a test host against the host's own OpenAPI document: the status must be declared for the
/// operation, and a JSON body must match the declared schema (JSON Schema 2020-12, as OpenAPI 3.1 uses). Every test
/// that starts a <see cref="ServiceUnderTest"/> is checked; a non-conforming response fails the test when the host is
/// disposed, naming the request, the status and what did not match.
/// </summary>
public sealed partial class OpenApiResponseCheck
{
    private static readonly SemaphoreSlim s_loadLock = new(1, 1);
    private static ContractDocument? s_document;
    private static int s_compiled;

    private readonly ConcurrentQueue<string> _violations = new();

    public IReadOnlyCollection<string> Violations => _violations;

    public static void AddTo(IServiceCollection services)
    {
        services.AddSingleton<OpenApiResponseCheck>();
        services.AddSingleton<IStartupFilter, CheckStartupFilter>();
    }

    /// <summary>Reads the document once per test process (every host serves the same one).</summary>
    public static async Task LoadDocumentAsync(HttpClient client, CancellationToken cancellationToken)
    {
        if (s_document is not null)
        {
            return;
        }

        await s_loadLock.WaitAsync(cancellationToken);
        try
        {
            if (s_document is null)
            {
                using var response = await client.GetAsync("/openapi/v1.json", cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    s_document = new ContractDocument(JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken))!.AsObject());
                }
            }
        }
        finally
        {
            s_loadLock.Release();
        }
    }

    /// <summary>Throws when any response of the host did not conform.</summary>
    public void ThrowIfViolated()
    {
        if (!_violations.IsEmpty)
        {
            throw new InvalidOperationException(
                $"{_violations.Count} response(s) do not conform to the OpenAPI document (fix the route's declared responses or the code):\n" + string.Join("\n", _violations.Take(20)));
        }
    }

    private async Task CheckAsync(HttpContext context, RequestDelegate next)
    {
        var path = context.Request.Path.Value ?? string.Empty;
        var checkedPath = path.StartsWith("/api/", StringComparison.Ordinal) || path.StartsWith("/health", StringComparison.Ordinal) || path.StartsWith("/webhooks/", StringComparison.Ordinal);
        if (!checkedPath || context.WebSockets.IsWebSocketRequest)
        {
            await next(context);
            return;
        }

        var original = context.Response.Body;
        await using var tee = new TeeStream(original);
        context.Response.Body = tee;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = original;
        }

        if (s_document is null || context.Response.StatusCode == 499 || tee.Overflowed)
        {
            return;
        }

        var problem = s_document.Check(path, context.Request.Method, context.Response.StatusCode, context.Response.ContentType, tee.Captured);
        if (problem is not null)
        {
            _violations.Enqueue($"{context.Request.Method} {path}{context.Request.QueryString} → {context.Response.StatusCode}: {problem}");
        }
    }

    private sealed class CheckStartupFilter(OpenApiResponseCheck check) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, following) => check.CheckAsync(context, following));
            next(app);
        };
    }

    /// <summary>The document's operations; each response schema is compiled once, with the components as <c>$defs</c>.</summary>
    internal sealed partial class ContractDocument(JsonObject document)
    {
        private readonly ConcurrentDictionary<string, JsonSchema?> _schemas = new();
        private readonly List<(Regex Pattern, int Literals, string Template, JsonObject Item)> _paths = document["paths"]!.AsObject()
            .Select(p => (PathPattern(p.Key, p.Value!.AsObject()), p.Key.Count(c => c != '{'), p.Key, p.Value!.AsObject())).ToList();
        private readonly string _definitions = (document["components"]?["schemas"] ?? new JsonObject()).ToJsonString();

        public string? Check(string path, string method, int status, string? contentType, byte[] body)
        {
            var match = _paths.Where(p => p.Pattern.IsMatch(path)).OrderByDescending(p => p.Literals).FirstOrDefault();
            var routePattern = match.Template;
            if (match.Item?[method.ToLowerInvariant()] is not JsonObject operation)
            {
                // Not an operation of the document (405 for another method, 404 for no route): nothing to compare with.
                return null;
            }

            if (operation["responses"]?[status.ToString(System.Globalization.CultureInfo.InvariantCulture)] is not JsonObject response)
            {
                var declared = string.Join(", ", operation["responses"]!.AsObject().Select(r => r.Key));
                return $"status {status} is not declared for {method} {routePattern} (declared: {declared})";
            }

            if (contentType is null || !contentType.StartsWith("application/json", StringComparison.Ordinal) || body.Length == 0)
            {
                return null;
            }

            if (response["content"]?["application/json"]?["schema"] is not JsonNode schemaNode)
            {
                // Slack's slash command answers Slack's message shape or the envelope: declared without a schema. Any
                // other JSON answer needs one (a route without .ProducesData<T>() declares a bare 200).
                return routePattern.StartsWith("/webhooks/slack/", StringComparison.Ordinal)
                    ? null
                    : $"a JSON body answers {method} {routePattern} {status}, which declares no JSON schema (add .ProducesData<T>({status}) or .ProducesErrors({status}) to the route)";
            }

            var key = $"{method} {routePattern} {status}";
            var schema = _schemas.GetOrAdd(key, _ => Compile(schemaNode));
            JsonElement instance;
            try
            {
                instance = JsonDocument.Parse(body).RootElement;
            }
            catch (JsonException)
            {
                return "the body is not JSON: " + Encoding.UTF8.GetString(body);
            }

            var result = schema!.Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.List });
            if (result.IsValid)
            {
                return null;
            }

            var errors = (result.Details ?? []).Where(d => d.Errors is { Count: > 0 })
                .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} ({d.EvaluationPath}): {e.Value}"))
                .Distinct().Take(10);
            var text = Encoding.UTF8.GetString(body);
            return $"the body does not match the schema: {string.Join("; ", errors)}; body: {(text.Length > 600 ? text[..600] + "…" : text)}";
        }

        private JsonSchema Compile(JsonNode schema)
        {
            var root = JsonNode.Parse(schema.ToJsonString())!.AsObject();
            if (root.ContainsKey("$ref"))
            {
                root = new JsonObject { ["allOf"] = new JsonArray(root) };
            }

            root["$schema"] = "https://json-schema.org/draft/2020-12/schema";
            root["$defs"] = JsonNode.Parse(_definitions);
            var text = root.ToJsonString().Replace("#/components/schemas/", "#/$defs/", StringComparison.Ordinal);
            var id = Interlocked.Increment(ref s_compiled);
            return JsonSchema.FromText(text, baseUri: new Uri($"https://devorch.test/openapi/response-{id}"));
        }

        /// <summary>A document path as a regular expression: an integer path parameter matches digits, any other one a segment; a trailing slash is optional.</summary>
        private static Regex PathPattern(string template, JsonObject item)
        {
            var integers = item.Select(o => o.Value).OfType<JsonObject>().SelectMany(o => o["parameters"]?.AsArray() ?? [])
                .Where(p => (string?)p!["in"] == "path" && (string?)p["schema"]?["type"] == "integer").Select(p => (string)p!["name"]!).ToHashSet();
            var body = RouteParameter().Replace(Regex.Escape(template.TrimEnd('/')).Replace(@"\{", "{", StringComparison.Ordinal),
                m => integers.Contains(m.Groups[1].Value) ? @"-?\d+" : "[^/]+");
            return new Regex("^" + body + "/?$", RegexOptions.CultureInvariant);
        }

        [GeneratedRegex(@"\{(\w+)\}")]
        private static partial Regex RouteParameter();
    }

    /// <summary>Passes every write through to the response and keeps a copy (up to 4 MiB) for the check.</summary>
    private sealed class TeeStream(Stream inner) : Stream
    {
        private const int MaxCopy = 4 * 1024 * 1024;
        private readonly MemoryStream _copy = new();

        public byte[] Captured => _copy.ToArray();

        public bool Overflowed { get; private set; }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            Keep(buffer.AsSpan(offset, count));
            inner.Write(buffer, offset, count);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Keep(buffer.AsSpan(offset, count));
            return inner.WriteAsync(buffer, offset, count, cancellationToken);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Keep(buffer.Span);
            return inner.WriteAsync(buffer, cancellationToken);
        }

        private void Keep(ReadOnlySpan<byte> bytes)
        {
            if (_copy.Length + bytes.Length <= MaxCopy)
            {
                _copy.Write(bytes);
            }
            else
            {
                Overflowed = true;
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _copy.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
