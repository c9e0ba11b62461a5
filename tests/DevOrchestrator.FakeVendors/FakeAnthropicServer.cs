using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace DevOrchestrator.FakeVendors;

/// <summary>
/// A fake of the Anthropic Messages API (<c>POST /v1/messages</c>) on 127.0.0.1, for the official SDK to talk to over
/// real HTTP: <c>new AnthropicClient { ApiKey = server.ApiKey, BaseUrl = server.BaseUrl.ToString(), MaxRetries = 0 }</c>.
/// </summary>
/// <remarks>
/// <para>Authentication: <c>x-api-key: KEY</c> or <c>Authorization: Bearer KEY</c> (the C# SDK 13.x sends the latter);
/// anything else is 401 <c>authentication_error</c>. A missing <c>anthropic-version</c> header is 400.</para>
/// <para>Streaming (<c>"stream": true</c>) is answered with the documented event sequence (<c>message_start</c>,
/// <c>content_block_start</c>/<c>_delta</c>/<c>_stop</c>, <c>message_delta</c>, <c>message_stop</c>); an error reply is
/// an ordinary JSON error before the stream starts.</para>
/// <para>Usage, unless the reply sets it: the prompt is cut into blocks in cache order (each tool definition, each
/// system block, each message's content blocks, a string content being one text block; each message's role counts
/// with its first block); prompt tokens = ceil(UTF-8 bytes of those blocks' compact JSON, <c>cache_control</c> left
/// out, / 4). Prompt caching follows the documented semantics: a block with <c>cache_control</c> ends a cacheable
/// prefix (at most 4 per request, else 400); the longest prefix already cached that ends at a breakpoint or at any of
/// the 20 block boundaries before one is read (<c>cache_read_input_tokens</c>); the tokens from there to the last
/// breakpoint are written (<c>cache_creation_input_tokens</c>) and every breakpoint prefix past the read one becomes
/// cached; the rest is <c>input_tokens</c>. Entries live 5 minutes (<c>ttl: "1h"</c>: an hour), refreshed by hits;
/// the model is part of the key. Output tokens = the fake tokenizer over the reply's text and tool calls.</para>
/// </remarks>
public sealed class FakeAnthropicServer : FakeModelServer
{
    /// <summary>The key the server accepts unless <see cref="FakeModelServerOptions.ApiKey"/> says otherwise.</summary>
    public const string DefaultApiKey = "fake-anthropic-test-key";

    /// <summary>The most cache breakpoints the API accepts in one request.</summary>
    public const int MaxCacheBreakpoints = 4;

    private const int LookbackBlocks = 20;

    private readonly ConcurrentDictionary<string, CacheEntry> _cache = new();
    private readonly int _minimumCacheableTokens;

    private FakeAnthropicServer(FakeModelServerOptions options)
        : base(options, DefaultApiKey) => _minimumCacheableTokens = options.MinimumCacheableTokens;

    /// <summary>How many prompt prefixes are cached (expired ones included until they are looked up).</summary>
    public int CachedPrefixCount => _cache.Count;

    /// <summary>
    /// Start a server on a free loopback port. <see cref="FakeModelServer.BaseUrl"/> is the root
    /// (<c>http://127.0.0.1:PORT/</c>), what the SDK's <c>BaseUrl</c> takes (it appends <c>/v1/messages</c>).
    /// </summary>
    public static async Task<FakeAnthropicServer> StartAsync(FakeModelServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        var server = new FakeAnthropicServer(options ?? new FakeModelServerOptions());
        await server.StartCoreAsync("/", cancellationToken);
        return server;
    }

    /// <summary>Forget every cached prefix.</summary>
    public void ClearPromptCache() => _cache.Clear();

    private protected override void MapRoutes(WebApplication app)
    {
        app.MapPost("/v1/messages", HandleAsync);
        app.MapGet("/v1/models", ModelsAsync);
    }

    /// <summary>How many times <c>GET /v1/models</c> was answered (a connection check; not recorded in <see cref="FakeModelServer.Requests"/>).</summary>
    public int ModelListings => Volatile.Read(ref _modelListings);

    private int _modelListings;

    /// <summary><c>GET /v1/models</c> in the documented page shape, for connection checks (not scripted, not recorded).</summary>
    private async Task ModelsAsync(HttpContext context)
    {
        var key = context.Request.Headers["x-api-key"].FirstOrDefault() ?? BearerToken(context.Request.Headers.Authorization.FirstOrDefault());
        if (!string.Equals(key, ApiKey, StringComparison.Ordinal))
        {
            await WriteErrorAsync(context.Response, new FakeErrorReply(401, "authentication_error", "invalid x-api-key"), context.RequestAborted);
            return;
        }

        Interlocked.Increment(ref _modelListings);
        var models = new JsonArray(
            new JsonObject { ["type"] = "model", ["id"] = "claude-sonnet-4-5", ["display_name"] = "Claude Sonnet 4.5", ["created_at"] = "2025-09-29T00:00:00Z" },
            new JsonObject { ["type"] = "model", ["id"] = "claude-haiku-4-5", ["display_name"] = "Claude Haiku 4.5", ["created_at"] = "2025-10-15T00:00:00Z" });
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(new JsonObject { ["data"] = models, ["has_more"] = false, ["first_id"] = "claude-sonnet-4-5", ["last_id"] = "claude-haiku-4-5" }.ToJsonString(), context.RequestAborted);
    }

    private protected override async Task<int> AnswerAsync(HttpContext context, RecordedModelRequest request, Func<RecordedModelRequest, FakeReply> nextReply)
    {
        var response = context.Response;
        var cancellationToken = context.RequestAborted;
        response.Headers["request-id"] = NewId("req_");

        var key = request.Header("x-api-key") ?? BearerToken(request.Header("authorization"));
        if (key is null)
        {
            return await WriteErrorAsync(response, new FakeErrorReply(401, "authentication_error", "x-api-key header is required"), cancellationToken);
        }

        if (!string.Equals(key, ApiKey, StringComparison.Ordinal))
        {
            return await WriteErrorAsync(response, new FakeErrorReply(401, "authentication_error", "invalid x-api-key"), cancellationToken);
        }

        if (request.Header("anthropic-version") is null)
        {
            return await WriteErrorAsync(response, new FakeErrorReply(400, "invalid_request_error", "anthropic-version: header is required"), cancellationToken);
        }

        if (Validate(request) is { } problem)
        {
            return await WriteErrorAsync(response, new FakeErrorReply(400, "invalid_request_error", problem), cancellationToken);
        }

        var body = (JsonObject)request.Json!;
        var prompt = Prompt(body, request.Model!);
        var breakpoints = prompt.Breakpoints.Count();
        if (breakpoints > MaxCacheBreakpoints)
        {
            return await WriteErrorAsync(
                response,
                new FakeErrorReply(400, "invalid_request_error", $"A maximum of {MaxCacheBreakpoints} blocks with cache_control may be provided. Found {breakpoints}."),
                cancellationToken);
        }

        var reply = nextReply(request);
        await DelayAsync(reply, cancellationToken);
        WriteReplyHeaders(response, reply);
        if (reply is FakeErrorReply error)
        {
            return await WriteErrorAsync(response, error, cancellationToken);
        }

        if (reply is FakeRawReply raw)
        {
            return await WriteRawAsync(response, raw, cancellationToken);
        }

        var usage = UseCache(prompt) with { OutputTokens = OutputTokens(reply) };
        usage = reply.Usage ?? usage;
        var content = Content(reply);
        var stopReason = StopReason(reply);
        var message = new JsonObject
        {
            ["id"] = NewId("msg_"),
            ["type"] = "message",
            ["role"] = "assistant",
            ["model"] = request.Model,
            ["content"] = content,
            ["stop_reason"] = stopReason,
            ["stop_sequence"] = null,
            ["usage"] = UsageJson(usage),
        };

        if (request.IsStreaming)
        {
            await StreamAsync(response, message, content, stopReason, usage, cancellationToken);
            return StatusCodes.Status200OK;
        }

        return await WriteJsonAsync(response, StatusCodes.Status200OK, message, cancellationToken);
    }

    private protected override Task<int> WriteErrorAsync(HttpResponse response, FakeErrorReply error, CancellationToken cancellationToken) =>
        WriteJsonAsync(
            response,
            error.StatusCode,
            new JsonObject
            {
                ["type"] = "error",
                ["error"] = new JsonObject { ["type"] = error.ErrorType, ["message"] = error.Message },
                ["request_id"] = response.Headers["request-id"].ToString(),
            },
            cancellationToken);

    private static string? BearerToken(string? authorization) =>
        authorization is not null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization["Bearer ".Length..].Trim() : null;

    private static string? Validate(RecordedModelRequest request)
    {
        if (request.Json is not JsonObject body)
        {
            return "The request body is not valid JSON.";
        }

        if (request.Model is null)
        {
            return "model: Field required";
        }

        if (body["max_tokens"] is not JsonValue maxTokens || !maxTokens.TryGetValue(out int _))
        {
            return "max_tokens: Field required";
        }

        if (body["messages"] is not JsonArray messages)
        {
            return "messages: Field required";
        }

        foreach (var message in messages)
        {
            if (message is not JsonObject m || m["role"] is not JsonValue || m["content"] is null)
            {
                return "messages: each message needs a role and content";
            }
        }

        return null;
    }

    /// <summary>The prompt in cache order: tools, system, messages.</summary>
    private static PromptPrefix Prompt(JsonObject body, string model)
    {
        var prompt = new PromptPrefix(model);
        if (body["tools"] is JsonArray tools)
        {
            foreach (var tool in tools)
            {
                prompt.Add(tool, breakpointTtl: Ttl(tool));
            }
        }

        switch (body["system"])
        {
            case JsonArray blocks:
                foreach (var block in blocks)
                {
                    prompt.Add(block, breakpointTtl: Ttl(block));
                }

                break;
            case JsonValue text:
                prompt.Add(TextBlock(text));
                break;
        }

        foreach (var message in body["messages"]!.AsArray())
        {
            var role = message!["role"]!.ToString();
            switch (message["content"])
            {
                case JsonArray blocks:
                    for (var i = 0; i < blocks.Count; i++)
                    {
                        prompt.Add(blocks[i], i == 0 ? role : null, Ttl(blocks[i]));
                    }

                    if (blocks.Count == 0)
                    {
                        prompt.Add(null, role);
                    }

                    break;
                case var text:
                    prompt.Add(TextBlock(text), role);
                    break;
            }
        }

        return prompt;
    }

    private static JsonObject TextBlock(JsonNode? text) => new() { ["type"] = "text", ["text"] = text?.DeepClone() };

    /// <summary>The lifetime of a block's cache breakpoint; zero when it has none.</summary>
    private static TimeSpan Ttl(JsonNode? block) =>
        block is JsonObject obj && obj["cache_control"] is JsonObject cacheControl
            ? cacheControl["ttl"]?.ToString() == "1h" ? TimeSpan.FromHours(1) : TimeSpan.FromMinutes(5)
            : TimeSpan.Zero;

    /// <summary>Look the prompt up in the cache and write its new breakpoints; the usage without output tokens.</summary>
    private FakeUsage UseCache(PromptPrefix prompt)
    {
        var now = TimeProvider.GetUtcNow();
        var total = FakeModelServer.EstimateTokens(prompt.TotalBytes);
        var breakpoints = prompt.Breakpoints.Where(b => prompt.Tokens(b.Boundary) >= _minimumCacheableTokens).ToList();
        if (breakpoints.Count == 0)
        {
            return new FakeUsage(total, 0);
        }

        var candidates = breakpoints
            .SelectMany(b => Enumerable.Range(Math.Max(1, b.Boundary - LookbackBlocks), Math.Min(b.Boundary, LookbackBlocks + 1)))
            .Distinct()
            .ToList();
        var hashes = prompt.Hashes(candidates);

        var read = 0;
        foreach (var boundary in candidates.OrderDescending())
        {
            if (_cache.TryGetValue(hashes[boundary], out var entry))
            {
                if (entry.ExpiresAt > now)
                {
                    _cache[hashes[boundary]] = entry with { ExpiresAt = now + entry.Ttl };
                    read = boundary;
                    break;
                }

                _cache.TryRemove(hashes[boundary], out _);
            }
        }

        var written = read;
        foreach (var (boundary, ttl) in breakpoints.Where(b => b.Boundary > read))
        {
            _cache[hashes[boundary]] = new CacheEntry(prompt.Tokens(boundary), ttl, now + ttl);
            written = Math.Max(written, boundary);
        }

        var readTokens = prompt.Tokens(read);
        var creationTokens = prompt.Tokens(written) - readTokens;
        return new FakeUsage(total - readTokens - creationTokens, 0, creationTokens, readTokens);
    }

    private static JsonArray Content(FakeReply reply)
    {
        var content = new JsonArray();
        switch (reply)
        {
            case FakeTextReply text:
                content.Add(new JsonObject { ["type"] = "text", ["text"] = text.Content });
                break;
            case FakeToolCallsReply tools:
                if (!string.IsNullOrEmpty(tools.Preamble))
                {
                    content.Add(new JsonObject { ["type"] = "text", ["text"] = tools.Preamble });
                }

                foreach (var call in tools.Calls)
                {
                    content.Add(new JsonObject
                    {
                        ["type"] = "tool_use",
                        ["id"] = call.Id ?? NewId("toolu_"),
                        ["name"] = call.Name,
                        ["input"] = ParseToolInput(call),
                        ["caller"] = new JsonObject { ["type"] = "direct" },
                    });
                }

                break;
        }

        return content;
    }

    private static string StopReason(FakeReply reply) => reply switch
    {
        FakeToolCallsReply => "tool_use",
        FakeTextReply { StopReason: FakeStopReason.MaxTokens } => "max_tokens",
        FakeTextReply { StopReason: FakeStopReason.ToolUse } => "tool_use",
        _ => "end_turn",
    };

    private static JsonObject UsageJson(FakeUsage usage) => new()
    {
        ["input_tokens"] = usage.InputTokens,
        ["cache_creation_input_tokens"] = usage.CacheCreationInputTokens,
        ["cache_read_input_tokens"] = usage.CacheReadInputTokens,
        ["output_tokens"] = usage.OutputTokens,
    };

    private static async Task StreamAsync(HttpResponse response, JsonObject message, JsonArray content, string stopReason, FakeUsage usage, CancellationToken cancellationToken)
    {
        StartEventStream(response);
        var start = (JsonObject)message.DeepClone();
        start["content"] = new JsonArray();
        start["stop_reason"] = null;
        start["usage"] = UsageJson(usage with { OutputTokens = 1 });
        await WriteEventAsync(response, "message_start", new JsonObject { ["type"] = "message_start", ["message"] = start }.ToJsonString(), cancellationToken);
        await WriteEventAsync(response, "ping", """{"type":"ping"}""", cancellationToken);

        for (var index = 0; index < content.Count; index++)
        {
            var block = content[index]!.AsObject();
            var isText = block["type"]!.ToString() == "text";
            var empty = (JsonObject)block.DeepClone();
            if (isText)
            {
                empty["text"] = "";
            }
            else
            {
                empty["input"] = new JsonObject();
            }

            await WriteEventAsync(response, "content_block_start", new JsonObject { ["type"] = "content_block_start", ["index"] = index, ["content_block"] = empty }.ToJsonString(), cancellationToken);
            var delta = isText
                ? new JsonObject { ["type"] = "text_delta", ["text"] = block["text"]!.ToString() }
                : new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = block["input"]!.ToJsonString() };
            await WriteEventAsync(response, "content_block_delta", new JsonObject { ["type"] = "content_block_delta", ["index"] = index, ["delta"] = delta }.ToJsonString(), cancellationToken);
            await WriteEventAsync(response, "content_block_stop", new JsonObject { ["type"] = "content_block_stop", ["index"] = index }.ToJsonString(), cancellationToken);
        }

        var messageDelta = new JsonObject
        {
            ["type"] = "message_delta",
            ["delta"] = new JsonObject { ["stop_reason"] = stopReason, ["stop_sequence"] = null },
            ["usage"] = UsageJson(usage),
        };
        await WriteEventAsync(response, "message_delta", messageDelta.ToJsonString(), cancellationToken);
        await WriteEventAsync(response, "message_stop", """{"type":"message_stop"}""", cancellationToken);
    }

    private sealed record CacheEntry(int Tokens, TimeSpan Ttl, DateTimeOffset ExpiresAt);
}
