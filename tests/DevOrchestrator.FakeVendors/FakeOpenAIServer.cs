using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace DevOrchestrator.FakeVendors;

/// <summary>
/// A fake of the OpenAI Chat Completions API (<c>POST /v1/chat/completions</c>) on 127.0.0.1, for the official SDK to
/// talk to over real HTTP: <c>new OpenAIClient(new ApiKeyCredential(server.ApiKey), new OpenAIClientOptions { Endpoint =
/// server.BaseUrl })</c>.
/// </summary>
/// <remarks>
/// <para>Authentication: <c>Authorization: Bearer KEY</c>; anything else is 401 (<c>invalid_request_error</c>, code
/// <c>invalid_api_key</c>). Errors have OpenAI's shape <c>{"error": {"message", "type", "param", "code"}}</c>.</para>
/// <para>Streaming (<c>"stream": true</c>) is answered with <c>chat.completion.chunk</c> events and <c>[DONE]</c>, plus
/// a usage chunk when <c>stream_options.include_usage</c> is set.</para>
/// <para>Usage, unless the reply sets it: <c>prompt_tokens</c> = ceil(UTF-8 bytes of the compact JSON of each tool
/// definition and each message / 4). Automatic prompt caching is emulated: the prefixes ending after each tool and each
/// message are remembered (without expiry) once they reach 1024 tokens; <c>prompt_tokens_details.cached_tokens</c> is
/// the longest remembered prefix of the request rounded down to 1024 + a multiple of 128 tokens (OpenAI's documented
/// granularity), 0 below 1024. <c>completion_tokens</c> = the fake tokenizer over the reply's text and tool calls.</para>
/// </remarks>
public sealed class FakeOpenAIServer : FakeModelServer
{
    /// <summary>The key the server accepts unless <see cref="FakeModelServerOptions.ApiKey"/> says otherwise.</summary>
    public const string DefaultApiKey = "fake-openai-test-key";

    /// <summary>The shortest prompt prefix OpenAI caches.</summary>
    public const int MinimumCachedTokens = 1024;

    private const int CacheIncrement = 128;

    private readonly ConcurrentDictionary<string, int> _seenPrefixes = new();

    private FakeOpenAIServer(FakeModelServerOptions options)
        : base(options, DefaultApiKey)
    {
    }

    /// <summary>How many prompt prefixes are remembered for automatic caching.</summary>
    public int CachedPrefixCount => _seenPrefixes.Count;

    /// <summary>
    /// Start a server on a free loopback port. <see cref="FakeModelServer.BaseUrl"/> ends in <c>/v1</c>
    /// (<c>http://127.0.0.1:PORT/v1</c>), like OpenAI's <c>https://api.openai.com/v1</c>: what the SDK's
    /// <c>OpenAIClientOptions.Endpoint</c> takes (it appends <c>/chat/completions</c>).
    /// </summary>
    public static async Task<FakeOpenAIServer> StartAsync(FakeModelServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        var server = new FakeOpenAIServer(options ?? new FakeModelServerOptions());
        await server.StartCoreAsync("/v1", cancellationToken);
        return server;
    }

    /// <summary>Forget every remembered prefix.</summary>
    public void ClearPromptCache() => _seenPrefixes.Clear();

    private protected override void MapRoutes(WebApplication app)
    {
        app.MapPost("/v1/chat/completions", HandleAsync);
        app.MapGet("/v1/models", ModelsAsync);
    }

    /// <summary>How many times <c>GET /v1/models</c> was answered (a connection check; not recorded in <see cref="FakeModelServer.Requests"/>).</summary>
    public int ModelListings => Volatile.Read(ref _modelListings);

    private int _modelListings;

    /// <summary><c>GET /v1/models</c> in the documented list shape, for connection checks (not scripted, not recorded).</summary>
    private async Task ModelsAsync(HttpContext context)
    {
        var authorization = context.Request.Headers.Authorization.FirstOrDefault();
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ||
            !string.Equals(authorization["Bearer ".Length..].Trim(), ApiKey, StringComparison.Ordinal))
        {
            await WriteErrorAsync(context.Response, new FakeErrorReply(401, "invalid_request_error", "Incorrect API key provided.", Code: "invalid_api_key"), context.RequestAborted);
            return;
        }

        Interlocked.Increment(ref _modelListings);
        var models = new JsonArray(
            new JsonObject { ["id"] = "gpt-4.1", ["object"] = "model", ["created"] = 1744316542, ["owned_by"] = "system" },
            new JsonObject { ["id"] = "gpt-4.1-mini", ["object"] = "model", ["created"] = 1744318173, ["owned_by"] = "system" });
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(new JsonObject { ["object"] = "list", ["data"] = models }.ToJsonString(), context.RequestAborted);
    }

    private protected override async Task<int> AnswerAsync(HttpContext context, RecordedModelRequest request, Func<RecordedModelRequest, FakeReply> nextReply)
    {
        var response = context.Response;
        var cancellationToken = context.RequestAborted;
        response.Headers["x-request-id"] = NewId("req_");

        var authorization = request.Header("authorization");
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return await WriteErrorAsync(
                response,
                new FakeErrorReply(401, "invalid_request_error", "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth."),
                cancellationToken);
        }

        if (!string.Equals(authorization["Bearer ".Length..].Trim(), ApiKey, StringComparison.Ordinal))
        {
            return await WriteErrorAsync(response, new FakeErrorReply(401, "invalid_request_error", "Incorrect API key provided.", Code: "invalid_api_key"), cancellationToken);
        }

        if (Validate(request) is { } problem)
        {
            return await WriteErrorAsync(response, new FakeErrorReply(400, "invalid_request_error", problem), cancellationToken);
        }

        var body = (JsonObject)request.Json!;
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

        var computed = UseCache(Prompt(body, request.Model!)) with { OutputTokens = OutputTokens(reply) };
        var usage = reply.Usage ?? computed;
        var id = NewId("chatcmpl-");
        var created = TimeProvider.GetUtcNow().ToUnixTimeSeconds();
        var toolCalls = ToolCalls(reply);
        var finishReason = FinishReason(reply);
        var messageContent = reply switch
        {
            FakeTextReply text => text.Content,
            FakeToolCallsReply tools => tools.Preamble,
            _ => null,
        };

        if (request.IsStreaming)
        {
            var includeUsage = body["stream_options"] is JsonObject streamOptions && streamOptions["include_usage"] is JsonValue include && include.TryGetValue(out bool yes) && yes;
            await StreamAsync(response, id, created, request.Model!, messageContent, toolCalls, finishReason, includeUsage ? usage : null, cancellationToken);
            return StatusCodes.Status200OK;
        }

        var message = new JsonObject { ["role"] = "assistant", ["content"] = messageContent, ["refusal"] = null };
        if (toolCalls.Count > 0)
        {
            message["tool_calls"] = toolCalls;
        }

        var completion = new JsonObject
        {
            ["id"] = id,
            ["object"] = "chat.completion",
            ["created"] = created,
            ["model"] = request.Model,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = message,
                ["logprobs"] = null,
                ["finish_reason"] = finishReason,
            }),
            ["usage"] = UsageJson(usage),
            ["system_fingerprint"] = "fp_fake",
        };
        return await WriteJsonAsync(response, StatusCodes.Status200OK, completion, cancellationToken);
    }

    private protected override Task<int> WriteErrorAsync(HttpResponse response, FakeErrorReply error, CancellationToken cancellationToken) =>
        WriteJsonAsync(
            response,
            error.StatusCode,
            new JsonObject
            {
                ["error"] = new JsonObject
                {
                    ["message"] = error.Message,
                    ["type"] = error.ErrorType,
                    ["param"] = null,
                    ["code"] = error.Code,
                },
            },
            cancellationToken);

    private static string? Validate(RecordedModelRequest request)
    {
        if (request.Json is not JsonObject body)
        {
            return "We could not parse the JSON body of your request.";
        }

        if (request.Model is null)
        {
            return "you must provide a model parameter";
        }

        if (body["messages"] is not JsonArray messages || messages.Count == 0)
        {
            return "'messages' must contain at least one message.";
        }

        return messages.Any(m => m is not JsonObject o || o["role"] is not JsonValue) ? "Each message needs a 'role'." : null;
    }

    /// <summary>The prompt in prefix order: tools, then messages.</summary>
    private static PromptPrefix Prompt(JsonObject body, string model)
    {
        var prompt = new PromptPrefix(model);
        if (body["tools"] is JsonArray tools)
        {
            foreach (var tool in tools)
            {
                prompt.Add(tool);
            }
        }

        foreach (var message in body["messages"]!.AsArray())
        {
            prompt.Add(message);
        }

        return prompt;
    }

    /// <summary>Report the longest remembered prefix as cached and remember this prompt's prefixes.</summary>
    private FakeUsage UseCache(PromptPrefix prompt)
    {
        var total = FakeModelServer.EstimateTokens(prompt.TotalBytes);
        var boundaries = Enumerable.Range(1, prompt.Count).Where(b => prompt.Tokens(b) >= MinimumCachedTokens).ToList();
        var hashes = prompt.Hashes(boundaries);

        var cached = 0;
        foreach (var boundary in boundaries.OrderDescending())
        {
            if (_seenPrefixes.ContainsKey(hashes[boundary]))
            {
                var tokens = prompt.Tokens(boundary);
                cached = MinimumCachedTokens + (tokens - MinimumCachedTokens) / CacheIncrement * CacheIncrement;
                break;
            }
        }

        foreach (var boundary in boundaries)
        {
            _seenPrefixes.TryAdd(hashes[boundary], prompt.Tokens(boundary));
        }

        return new FakeUsage(total - cached, 0, 0, cached);
    }

    private static JsonArray ToolCalls(FakeReply reply)
    {
        var calls = new JsonArray();
        if (reply is FakeToolCallsReply tools)
        {
            foreach (var call in tools.Calls)
            {
                calls.Add(new JsonObject
                {
                    ["id"] = call.Id ?? NewId("call_"),
                    ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = call.Name, ["arguments"] = ParseToolInput(call).ToJsonString() },
                });
            }
        }

        return calls;
    }

    private static string FinishReason(FakeReply reply) => reply switch
    {
        FakeToolCallsReply => "tool_calls",
        FakeTextReply { StopReason: FakeStopReason.MaxTokens } => "length",
        FakeTextReply { StopReason: FakeStopReason.ToolUse } => "tool_calls",
        _ => "stop",
    };

    private static JsonObject UsageJson(FakeUsage usage) => new()
    {
        ["prompt_tokens"] = usage.PromptTokens,
        ["completion_tokens"] = usage.OutputTokens,
        ["total_tokens"] = usage.PromptTokens + usage.OutputTokens,
        ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = usage.CacheReadInputTokens, ["audio_tokens"] = 0 },
        ["completion_tokens_details"] = new JsonObject
        {
            ["reasoning_tokens"] = 0,
            ["audio_tokens"] = 0,
            ["accepted_prediction_tokens"] = 0,
            ["rejected_prediction_tokens"] = 0,
        },
    };

    private static async Task StreamAsync(
        HttpResponse response,
        string id,
        long created,
        string model,
        string? content,
        JsonArray toolCalls,
        string finishReason,
        FakeUsage? usage,
        CancellationToken cancellationToken)
    {
        StartEventStream(response);

        JsonObject Chunk(JsonObject? delta, string? finish) => new()
        {
            ["id"] = id,
            ["object"] = "chat.completion.chunk",
            ["created"] = created,
            ["model"] = model,
            ["system_fingerprint"] = "fp_fake",
            ["choices"] = delta is null
                ? new JsonArray()
                : new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finish }),
        };

        await WriteEventAsync(response, null, Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "", ["refusal"] = null }, null).ToJsonString(), cancellationToken);
        if (!string.IsNullOrEmpty(content))
        {
            await WriteEventAsync(response, null, Chunk(new JsonObject { ["content"] = content }, null).ToJsonString(), cancellationToken);
        }

        for (var index = 0; index < toolCalls.Count; index++)
        {
            var call = toolCalls[index]!.AsObject();
            var function = call["function"]!.AsObject();
            var start = new JsonObject
            {
                ["index"] = index,
                ["id"] = call["id"]!.ToString(),
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = function["name"]!.ToString(), ["arguments"] = "" },
            };
            await WriteEventAsync(response, null, Chunk(new JsonObject { ["tool_calls"] = new JsonArray(start) }, null).ToJsonString(), cancellationToken);
            var arguments = new JsonObject { ["index"] = index, ["function"] = new JsonObject { ["arguments"] = function["arguments"]!.ToString() } };
            await WriteEventAsync(response, null, Chunk(new JsonObject { ["tool_calls"] = new JsonArray(arguments) }, null).ToJsonString(), cancellationToken);
        }

        await WriteEventAsync(response, null, Chunk(new JsonObject(), finishReason).ToJsonString(), cancellationToken);
        if (usage is not null)
        {
            var usageChunk = Chunk(null, null);
            usageChunk["usage"] = UsageJson(usage);
            await WriteEventAsync(response, null, usageChunk.ToJsonString(), cancellationToken);
        }

        await WriteEventAsync(response, null, "[DONE]", cancellationToken);
    }
}
