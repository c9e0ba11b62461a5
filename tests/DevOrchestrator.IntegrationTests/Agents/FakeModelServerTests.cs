using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Anthropic;
using Anthropic.Exceptions;
using DevOrchestrator.FakeVendors;
using Microsoft.Extensions.AI;
using OpenAI;
using CacheControlEphemeral = Anthropic.Models.Messages.CacheControlEphemeral;
using Ttl = Anthropic.Models.Messages.Ttl;

namespace DevOrchestrator.IntegrationTests.Agents;

/// <summary>
/// The fake model servers driven by the real SDKs over HTTP, through Microsoft.Extensions.AI's <see cref="IChatClient"/>.
/// These tests also pin down how the SDKs behave (usage mapping, exceptions, cache_control placement), which the agent
/// code relies on.
/// </summary>
public sealed class FakeModelServerTests
{
    private const string ClaudeModel = "claude-sonnet-4-5";
    private const string GptModel = "gpt-4.1-mini";

    private static readonly AIFunction ReadFile = AIFunctionFactory.Create(
        (string path) => $"contents of {path}", "read_file", "Reads a file of the repository.");

    // ---------------------------------------------------------------- Anthropic

    [Fact]
    public async Task Anthropic_text_answer_arrives_with_usage_computed_from_the_request()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeAnthropicServer.StartAsync(cancellationToken: ct);
        using var client = AnthropicClientFor(server);
        using var chat = client.AsIChatClient(ClaudeModel);
        server.Enqueue(FakeReply.Text("Hello there, human."));

        var response = await chat.GetResponseAsync(
            [new ChatMessage(ChatRole.System, "You are terse."), new ChatMessage(ChatRole.User, "Say hello")],
            new ChatOptions { MaxOutputTokens = 200 },
            ct);

        Assert.Equal("Hello there, human.", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(ClaudeModel, response.ModelId);
        Assert.StartsWith("msg_", response.ResponseId, StringComparison.Ordinal);

        var request = Assert.Single(server.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/v1/messages", request.Path);
        // The C# SDK sends the key as a bearer token, not as x-api-key.
        Assert.Equal($"Bearer {server.ApiKey}", request.Header("authorization"));
        Assert.Null(request.Header("x-api-key"));
        Assert.False(string.IsNullOrEmpty(request.Header("anthropic-version")));
        Assert.Equal(ClaudeModel, request.Model);
        Assert.Equal(200, (int)request.Json!["max_tokens"]!);
        Assert.Equal("You are terse.", (string?)request.Json["system"]![0]!["text"]);
        Assert.Equal(200, request.StatusCode);
        Assert.Equal(1, server.RequestCount(200));

        var usage = response.Usage!;
        Assert.Equal(AnthropicPromptTokens(request.Json.AsObject()), usage.InputTokenCount);
        Assert.Equal(5, usage.OutputTokenCount); // "Hello there, human." is 19 bytes: ceil(19 / 4)
        Assert.Equal(usage.InputTokenCount + usage.OutputTokenCount, usage.TotalTokenCount);
        Assert.Equal(0, usage.CachedInputTokenCount);
        Assert.Null(usage.AdditionalCounts); // no CacheCreationInputTokens entry when nothing was written
    }

    [Fact]
    public async Task Anthropic_tool_call_round_trip_sends_the_tool_result_back()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeAnthropicServer.StartAsync(cancellationToken: ct);
        using var client = AnthropicClientFor(server);
        using var chat = client.AsIChatClient(ClaudeModel);
        server.Enqueue(
            FakeReply.ToolCall("read_file", """{"path":"README.md"}""", id: "toolu_01"),
            FakeReply.Text("The README says hi."));
        var options = new ChatOptions { Tools = [ReadFile] };
        List<ChatMessage> messages = [new(ChatRole.User, "What is in the README?")];

        var first = await chat.GetResponseAsync(messages, options, ct);

        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        var call = Assert.Single(first.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("toolu_01", call.CallId);
        Assert.Equal("read_file", call.Name);
        Assert.Equal("README.md", ((JsonElement)call.Arguments!["path"]!).GetString());

        var tool = server.Requests[0].Json!["tools"]![0]!;
        Assert.Equal("read_file", (string?)tool["name"]);
        Assert.Equal("Reads a file of the repository.", (string?)tool["description"]);
        Assert.Equal("string", (string?)tool["input_schema"]!["properties"]!["path"]!["type"]);

        messages.AddRange(first.Messages);
        messages.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(call.CallId, "# Demo\nhi")]));
        var second = await chat.GetResponseAsync(messages, options, ct);

        Assert.Equal("The README says hi.", second.Text);
        var sent = server.Requests[1].Messages;
        Assert.Equal(3, sent.Count);
        Assert.Equal("assistant", (string?)sent[1]!["role"]);
        var toolUse = sent[1]!["content"]![0]!;
        Assert.Equal("tool_use", (string?)toolUse["type"]);
        Assert.Equal("toolu_01", (string?)toolUse["id"]);
        Assert.Equal("README.md", (string?)toolUse["input"]!["path"]);
        // A tool result goes back in a user message, as a tool_result block.
        Assert.Equal("user", (string?)sent[2]!["role"]);
        var toolResult = sent[2]!["content"]![0]!;
        Assert.Equal("tool_result", (string?)toolResult["type"]);
        Assert.Equal("toolu_01", (string?)toolResult["tool_use_id"]);
        Assert.Equal("# Demo\nhi", (string?)toolResult["content"]);
        Assert.False((bool?)toolResult["is_error"] ?? false);
    }

    [Fact]
    public async Task Anthropic_function_invocation_runs_parallel_tool_calls_and_the_fake_sees_every_result()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeAnthropicServer.StartAsync(cancellationToken: ct);
        using var client = AnthropicClientFor(server);
        using var chat = client.AsIChatClient(ClaudeModel).AsBuilder().UseFunctionInvocation().Build();
        var listDir = AIFunctionFactory.Create((string path) => new TextContent($"files in {path}"), "list_dir", "Lists a directory.");
        server.Enqueue(
            FakeReply.ToolCalls(new FakeToolCall("read_file", """{"path":"a.txt"}"""), new FakeToolCall("list_dir", """{"path":"src"}""")) with
            {
                Preamble = "Reading and listing.",
            },
            FakeReply.Text("Both done."));

        var response = await chat.GetResponseAsync("Read a.txt and list src", new ChatOptions { Tools = [ReadFile, listDir] }, ct);

        // The function-invoking client returns the whole exchange: the tool-call turn, the results, the answer.
        Assert.Equal("Both done.", response.Messages[^1].Text);
        Assert.Equal(3, response.Messages.Count);
        Assert.Equal(2, server.Requests.Count);
        var calls = server.Requests[1].Messages[^2]!["content"]!.AsArray();
        Assert.Equal("Reading and listing.", (string?)calls[0]!["text"]);
        var results = server.Requests[1].Messages[^1]!["content"]!.AsArray();
        Assert.Equal(calls.Skip(1).Select(c => (string?)c!["id"]), results.Select(r => (string?)r!["tool_use_id"]));
        // A function returning string: its result is JSON-serialized, so the model gets the text WITH quotes.
        Assert.Equal("\"contents of a.txt\"", (string?)results[0]!["content"]);
        // A function returning TextContent: the model gets a text block, verbatim.
        Assert.Equal("files in src", (string?)results[1]!["content"]![0]!["text"]);
    }

    [Fact]
    public async Task Anthropic_cache_control_from_MEAI_reaches_the_body_and_the_cache_is_written_then_read()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeAnthropicServer.StartAsync(cancellationToken: ct);
        using var client = AnthropicClientFor(server);
        using var chat = client.AsIChatClient(ClaudeModel);
        // A tool breakpoint cannot be set with WithCacheControl: it goes through the function's AdditionalProperties.
        var cachedTool = AIFunctionFactory.Create(
            (string path) => "",
            new AIFunctionFactoryOptions
            {
                Name = "read_file",
                AdditionalProperties = new Dictionary<string, object?> { [nameof(Anthropic.Models.Messages.Tool.CacheControl)] = new CacheControlEphemeral() },
            });
        var options = new ChatOptions { Tools = [cachedTool] };
        var system = new TextContent(string.Concat(Enumerable.Repeat("You are a careful engineer. ", 40))).WithCacheControl(Ttl.Ttl1h);
        var firstQuestion = new TextContent("Summarise the repository.").WithCacheControl(new CacheControlEphemeral());
        List<ChatMessage> messages = [new(ChatRole.System, [system]), new(ChatRole.User, [firstQuestion])];
        server.Enqueue(FakeReply.Text("It is a demo."), FakeReply.Text("Nothing else."));

        var first = await chat.GetResponseAsync(messages, options, ct);

        var body1 = server.Requests[0].Json!.AsObject();
        Assert.Equal("ephemeral", (string?)body1["tools"]![0]!["cache_control"]!["type"]);
        Assert.Equal("ephemeral", (string?)body1["system"]![0]!["cache_control"]!["type"]);
        Assert.Equal("1h", (string?)body1["system"]![0]!["cache_control"]!["ttl"]);
        Assert.Equal("ephemeral", (string?)body1["messages"]![0]!["content"]![0]!["cache_control"]!["type"]);

        // Everything up to the last breakpoint (here: the whole prompt) is written; nothing is read yet.
        var prompt1 = AnthropicPromptTokens(body1);
        Assert.Equal(prompt1, first.Usage!.InputTokenCount);
        Assert.Equal(0, first.Usage.CachedInputTokenCount);
        Assert.Equal(prompt1, first.Usage.AdditionalCounts!["CacheCreationInputTokens"]);
        var raw1 = Assert.IsType<Anthropic.Models.Messages.Message>(first.RawRepresentation).Usage;
        Assert.Equal(0, raw1.InputTokens);
        Assert.Equal(prompt1, raw1.CacheCreationInputTokens);
        Assert.Equal(0, raw1.CacheReadInputTokens);
        Assert.Equal(3, server.CachedPrefixCount);

        // The agentic-loop pattern: move the message breakpoint to the newest message.
        firstQuestion.WithCacheControl((CacheControlEphemeral?)null);
        messages.AddRange(first.Messages);
        messages.Add(new ChatMessage(ChatRole.User, [new TextContent("Anything else?").WithCacheControl(new CacheControlEphemeral())]));
        var second = await chat.GetResponseAsync(messages, options, ct);

        var body2 = server.Requests[1].Json!.AsObject();
        Assert.Null(body2["messages"]![0]!["content"]![0]!["cache_control"]);
        // The old breakpoint's prefix is found by the 20-block lookback and read; the new turn is written.
        var prompt2 = AnthropicPromptTokens(body2);
        Assert.Equal(prompt2, second.Usage!.InputTokenCount);
        Assert.Equal(prompt1, second.Usage.CachedInputTokenCount);
        Assert.Equal(prompt2 - prompt1, second.Usage.AdditionalCounts!["CacheCreationInputTokens"]);
        Assert.Equal(0, ((Anthropic.Models.Messages.Message)second.RawRepresentation!).Usage.InputTokens);
    }

    [Fact]
    public async Task Anthropic_cache_read_leaves_the_uncached_tail_as_input_tokens()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeAnthropicServer.StartAsync(cancellationToken: ct);
        using var client = AnthropicClientFor(server);
        using var chat = client.AsIChatClient(ClaudeModel);
        var system = new ChatMessage(ChatRole.System, [new TextContent(new string('x', 4000)).WithCacheControl(new CacheControlEphemeral())]);

        var first = await chat.GetResponseAsync([system, new ChatMessage(ChatRole.User, "first question")], cancellationToken: ct);
        var second = await chat.GetResponseAsync([system, new ChatMessage(ChatRole.User, "a different, longer question")], cancellationToken: ct);

        var systemTokens = first.Usage!.AdditionalCounts!["CacheCreationInputTokens"];
        Assert.True(systemTokens >= 1000, $"the system block alone is about 1000 tokens, got {systemTokens}");
        Assert.Equal(systemTokens, second.Usage!.CachedInputTokenCount);
        Assert.Null(second.Usage.AdditionalCounts); // nothing new written
        var raw = ((Anthropic.Models.Messages.Message)second.RawRepresentation!).Usage;
        Assert.Equal(AnthropicPromptTokens(server.Requests[1].Json!.AsObject()) - systemTokens, raw.InputTokens);
        Assert.Equal("done", second.Text); // nothing scripted: the default answer
    }

    [Fact]
    public async Task Anthropic_more_than_four_breakpoints_are_refused_like_the_real_api()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeAnthropicServer.StartAsync(cancellationToken: ct);
        using var client = AnthropicClientFor(server);
        using var chat = client.AsIChatClient(ClaudeModel);
        var contents = Enumerable.Range(1, 5).Select(i => (AIContent)new TextContent($"part {i}").WithCacheControl(new CacheControlEphemeral())).ToList();
        server.Enqueue(FakeReply.Text("never sent"));

        var error = await Assert.ThrowsAsync<AnthropicBadRequestException>(() => chat.GetResponseAsync([new ChatMessage(ChatRole.User, contents)], cancellationToken: ct));

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, error.StatusCode);
        Assert.Contains("maximum of 4 blocks with cache_control", error.ApiMessage, StringComparison.Ordinal);
        Assert.Equal(1, server.PendingReplies); // refused before a reply was taken
    }

    public static TheoryData<int, string, Type> AnthropicErrors => new()
    {
        { 429, "rate_limit_error", typeof(AnthropicRateLimitException) },
        { 529, "overloaded_error", typeof(AnthropicOverloadedException) },
        { 500, "api_error", typeof(Anthropic5xxException) },
        { 503, "api_error", typeof(AnthropicServiceUnavailableException) },
        { 400, "invalid_request_error", typeof(AnthropicBadRequestException) },
    };

    [Theory]
    [MemberData(nameof(AnthropicErrors))]
    public async Task Anthropic_error_replies_surface_as_the_sdk_exception_for_their_status(int status, string errorType, Type exceptionType)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeAnthropicServer.StartAsync(cancellationToken: ct);
        using var client = AnthropicClientFor(server);
        using var chat = client.AsIChatClient(ClaudeModel);
        server.Enqueue(FakeReply.Error(status, errorType, "scripted failure", retryAfter: "7"));

        var error = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => chat.GetResponseAsync("hi", cancellationToken: ct));

        Assert.IsType(exceptionType, error);
        Assert.Equal(status, (int)error.StatusCode);
        Assert.Equal(errorType, error.Type?.Raw());
        Assert.Equal("scripted failure", error.ApiMessage);
        Assert.False(string.IsNullOrEmpty(error.RequestID)); // from the request-id header
        Assert.Equal(1, server.RequestCount(status)); // MaxRetries = 0: one attempt
    }

    [Fact]
    public async Task Anthropic_wrong_key_is_401_authentication_error()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeAnthropicServer.StartAsync(new FakeModelServerOptions { ApiKey = "the-right-key" }, ct);
        using var client = new AnthropicClient { ApiKey = "a-wrong-key", BaseUrl = server.BaseUrl.ToString(), MaxRetries = 0 };
        using var chat = client.AsIChatClient(ClaudeModel);

        var error = await Assert.ThrowsAsync<AnthropicUnauthorizedException>(() => chat.GetResponseAsync("hi", cancellationToken: ct));

        Assert.Equal(401, (int)error.StatusCode);
        Assert.Equal("authentication_error", error.Type?.Raw());
        var body = JsonNode.Parse(error.ResponseBody)!;
        Assert.Equal("error", (string?)body["type"]);
        Assert.Equal("invalid x-api-key", (string?)body["error"]!["message"]);
        Assert.Equal(1, server.RequestCount(401));
    }

    [Fact]
    public async Task Anthropic_retry_after_is_only_visible_to_an_http_handler_and_the_sdk_retry_honours_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeAnthropicServer.StartAsync(cancellationToken: ct);
        var headers = new ResponseHeaderRecorder();
        // MaxRetries = 1 lets the SDK retry once; it waits the Retry-After (0.2 s) rather than its own backoff.
        using var client = new AnthropicClient { ApiKey = server.ApiKey, BaseUrl = server.BaseUrl.ToString(), MaxRetries = 1, Handlers = [headers] };
        using var chat = client.AsIChatClient(ClaudeModel);
        server.Enqueue(FakeReply.RateLimited(retryAfter: "0.2"), FakeReply.Text("after the wait"));

        var watch = Stopwatch.StartNew();
        var response = await chat.GetResponseAsync("hi", cancellationToken: ct);

        Assert.Equal("after the wait", response.Text);
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(190), $"retried after {watch.Elapsed}");
        Assert.Equal(1, server.RequestCount(429));
        Assert.Equal(1, server.RequestCount(200));
        Assert.Equal("1", server.Requests[1].Header("x-stainless-retry-count"));
        Assert.Equal(new string?[] { "0.2", null }, headers.RetryAfter);
    }

    [Fact]
    public async Task Anthropic_streaming_yields_text_tool_calls_and_usage()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeAnthropicServer.StartAsync(cancellationToken: ct);
        using var client = AnthropicClientFor(server);
        using var chat = client.AsIChatClient(ClaudeModel);
        server.Enqueue(FakeReply.ToolCall("read_file", """{"path":"x.md"}""", id: "toolu_s"), FakeReply.Text("streamed text", FakeStopReason.MaxTokens));
        var options = new ChatOptions { Tools = [ReadFile] };

        var toolTurn = await chat.GetStreamingResponseAsync("go", options, ct).ToChatResponseAsync(ct);
        var textTurn = await chat.GetStreamingResponseAsync("go on", options, ct).ToChatResponseAsync(ct);

        Assert.True(server.Requests.All(r => r.IsStreaming));
        var call = Assert.Single(toolTurn.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal(("toolu_s", "read_file", "x.md"), (call.CallId, call.Name, call.Arguments!["path"]?.ToString()));
        Assert.Equal(ChatFinishReason.ToolCalls, toolTurn.FinishReason);
        Assert.Equal("streamed text", textTurn.Text);
        Assert.Equal(ChatFinishReason.Length, textTurn.FinishReason);
        Assert.Equal(AnthropicPromptTokens(server.Requests[1].Json!.AsObject()), textTurn.Usage!.InputTokenCount);
        Assert.Equal(4, textTurn.Usage.OutputTokenCount); // 13 bytes
    }

    [Fact]
    public async Task Anthropic_responder_answers_hundreds_of_concurrent_callers()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeAnthropicServer.StartAsync(new FakeModelServerOptions { RecordRequests = false }, ct);
        using var client = AnthropicClientFor(server);
        using var chat = client.AsIChatClient(ClaudeModel);
        // Echo the caller's question: each caller must get its own answer back.
        server.Respond(request => FakeReply.Text("echo: " + (string?)request.Messages[^1]!["content"]![0]!["text"]));

        var answers = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => chat.GetResponseAsync($"question {i}", cancellationToken: ct)));

        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"echo: question {i}"), answers.Select(a => a.Text));
        Assert.Equal(200, server.RequestCount(200));
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task Anthropic_reply_delay_holds_the_answer_back()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeAnthropicServer.StartAsync(cancellationToken: ct);
        using var client = AnthropicClientFor(server);
        using var chat = client.AsIChatClient(ClaudeModel);
        server.Enqueue(FakeReply.Text("slow") with { Delay = TimeSpan.FromMilliseconds(300) });

        var watch = Stopwatch.StartNew();
        var response = await chat.GetResponseAsync("hi", cancellationToken: ct);

        Assert.Equal("slow", response.Text);
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(290), $"answered after {watch.Elapsed}");
    }

    // ---------------------------------------------------------------- OpenAI

    [Fact]
    public async Task OpenAI_text_answer_arrives_with_usage_computed_from_the_request()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeOpenAIServer.StartAsync(cancellationToken: ct);
        using var chat = OpenAIChatClientFor(server);
        server.Enqueue(FakeReply.Text("Hello there, human."));

        var response = await chat.GetResponseAsync([new ChatMessage(ChatRole.System, "You are terse."), new ChatMessage(ChatRole.User, "Say hello")], cancellationToken: ct);

        Assert.Equal("Hello there, human.", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.StartsWith("chatcmpl-", response.ResponseId, StringComparison.Ordinal);
        var request = Assert.Single(server.Requests);
        Assert.Equal("/v1/chat/completions", request.Path);
        Assert.Equal($"Bearer {server.ApiKey}", request.Header("authorization"));
        Assert.Equal(GptModel, request.Model);
        Assert.Equal("system", (string?)request.Messages[0]!["role"]);

        var usage = response.Usage!;
        Assert.Equal(OpenAIPromptTokens(request.Json!.AsObject()), usage.InputTokenCount);
        Assert.Equal(5, usage.OutputTokenCount);
        Assert.Equal(usage.InputTokenCount + 5, usage.TotalTokenCount);
        Assert.Equal(0, usage.CachedInputTokenCount);
        Assert.Equal(0, usage.ReasoningTokenCount);
        Assert.Equal(0, usage.AdditionalCounts!["InputTokenDetails.AudioTokenCount"]);
        Assert.Contains("OutputTokenDetails.AcceptedPredictionTokenCount", usage.AdditionalCounts.Keys);
    }

    [Fact]
    public async Task OpenAI_tool_call_round_trip_sends_a_tool_message_back()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeOpenAIServer.StartAsync(cancellationToken: ct);
        using var chat = OpenAIChatClientFor(server);
        server.Enqueue(FakeReply.ToolCall("read_file", """{"path":"README.md"}""", id: "call_01"), FakeReply.Text("The README says hi."));
        var options = new ChatOptions { Tools = [ReadFile] };
        List<ChatMessage> messages = [new(ChatRole.User, "What is in the README?")];

        var first = await chat.GetResponseAsync(messages, options, ct);

        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        var call = Assert.Single(first.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal(("call_01", "read_file"), (call.CallId, call.Name));
        Assert.Equal("README.md", call.Arguments!["path"]?.ToString());
        var tool = server.Requests[0].Json!["tools"]![0]!;
        Assert.Equal("function", (string?)tool["type"]);
        Assert.Equal("read_file", (string?)tool["function"]!["name"]);

        messages.AddRange(first.Messages);
        messages.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(call.CallId, "# Demo\nhi")]));
        var second = await chat.GetResponseAsync(messages, options, ct);

        Assert.Equal("The README says hi.", second.Text);
        var sent = server.Requests[1].Messages;
        Assert.Equal("assistant", (string?)sent[1]!["role"]);
        var sentCall = sent[1]!["tool_calls"]![0]!;
        Assert.Equal("call_01", (string?)sentCall["id"]);
        Assert.Equal("README.md", (string?)JsonNode.Parse((string)sentCall["function"]!["arguments"]!)!["path"]);
        Assert.Equal("tool", (string?)sent[2]!["role"]);
        Assert.Equal("call_01", (string?)sent[2]!["tool_call_id"]);
        Assert.Equal("# Demo\nhi", (string?)sent[2]!["content"]);
    }

    [Fact]
    public async Task OpenAI_function_invocation_sends_string_results_quoted_unless_MarshalResult_keeps_them_raw()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeOpenAIServer.StartAsync(cancellationToken: ct);
        using var chat = OpenAIChatClientFor(server).AsBuilder().UseFunctionInvocation().Build();
        var rawReadFile = AIFunctionFactory.Create(
            (string path) => $"raw contents of {path}",
            new AIFunctionFactoryOptions { Name = "read_raw", MarshalResult = (result, _, _) => ValueTask.FromResult(result) });
        server.Enqueue(
            FakeReply.ToolCalls(new FakeToolCall("read_file", """{"path":"a.txt"}"""), new FakeToolCall("read_raw", """{"path":"b.txt"}""")),
            FakeReply.Text("Both read."));

        var response = await chat.GetResponseAsync("Read a.txt and b.txt", new ChatOptions { Tools = [ReadFile, rawReadFile] }, ct);

        Assert.Equal("Both read.", response.Messages[^1].Text);
        var sent = server.Requests[1].Messages;
        var toolMessages = sent.Where(m => (string?)m!["role"] == "tool").ToList();
        Assert.Equal(2, toolMessages.Count);
        Assert.Equal(sent[1]!["tool_calls"]!.AsArray().Select(c => (string?)c!["id"]), toolMessages.Select(m => (string?)m!["tool_call_id"]));
        Assert.Equal("\"contents of a.txt\"", (string?)toolMessages[0]!["content"]);
        Assert.Equal("raw contents of b.txt", (string?)toolMessages[1]!["content"]);
    }

    [Fact]
    public async Task OpenAI_repeated_long_prefix_is_reported_as_cached_tokens_and_cache_control_is_not_sent()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeOpenAIServer.StartAsync(cancellationToken: ct);
        using var chat = OpenAIChatClientFor(server);
        // About 1500 tokens of system prompt; the Anthropic-only cache_control marker is ignored by this client.
        var system = new ChatMessage(ChatRole.System, [new TextContent(new string('y', 6000)).WithCacheControl(new CacheControlEphemeral())]);

        var first = await chat.GetResponseAsync([system, new ChatMessage(ChatRole.User, "one")], cancellationToken: ct);
        var second = await chat.GetResponseAsync([system, new ChatMessage(ChatRole.User, "two")], cancellationToken: ct);

        Assert.DoesNotContain("cache_control", server.Requests[0].Body, StringComparison.Ordinal);
        Assert.Equal(0, first.Usage!.CachedInputTokenCount);
        var cached = second.Usage!.CachedInputTokenCount!.Value;
        var systemPrefixTokens = FakeModelServer.EstimateTokens(Encoding.UTF8.GetByteCount(server.Requests[1].Messages[0]!.ToJsonString()));
        Assert.Equal(1024 + (systemPrefixTokens - 1024) / 128 * 128, cached);
        Assert.Equal(OpenAIPromptTokens(server.Requests[1].Json!.AsObject()), second.Usage.InputTokenCount); // cached ones included
    }

    [Fact]
    public async Task OpenAI_errors_are_ClientResultExceptions_with_status_and_the_retry_after_header()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeOpenAIServer.StartAsync(cancellationToken: ct);
        using var chat = OpenAIChatClientFor(server);
        server.Enqueue(FakeReply.RateLimited(retryAfter: "7"), FakeReply.ServerError(), FakeReply.Overloaded());

        var rateLimited = await Assert.ThrowsAsync<ClientResultException>(() => chat.GetResponseAsync("hi", cancellationToken: ct));
        var serverError = await Assert.ThrowsAsync<ClientResultException>(() => chat.GetResponseAsync("hi", cancellationToken: ct));
        var overloaded = await Assert.ThrowsAsync<ClientResultException>(() => chat.GetResponseAsync("hi", cancellationToken: ct));

        Assert.Equal(429, rateLimited.Status);
        Assert.True(rateLimited.GetRawResponse()!.Headers.TryGetValue("Retry-After", out var retryAfter));
        Assert.Equal("7", retryAfter);
        var error = JsonNode.Parse(rateLimited.GetRawResponse()!.Content.ToString())!["error"]!;
        Assert.Equal(("rate_limit_error", "rate_limit_exceeded"), ((string?)error["type"], (string?)error["code"]));
        Assert.Contains("rate limit", rateLimited.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(500, serverError.Status);
        Assert.Equal(529, overloaded.Status);
        Assert.Equal(3, server.TotalRequests); // RetryPolicy with 0 retries: one attempt each
        Assert.Equal(new Dictionary<int, int> { [429] = 1, [500] = 1, [529] = 1 }, server.RequestsByStatus);
    }

    [Fact]
    public async Task OpenAI_wrong_key_is_401_invalid_api_key()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeOpenAIServer.StartAsync(new FakeModelServerOptions { ApiKey = "the-right-key" }, ct);
        using var chat = new OpenAIClient(new ApiKeyCredential("a-wrong-key"), new OpenAIClientOptions { Endpoint = server.BaseUrl, RetryPolicy = new ClientRetryPolicy(0) })
            .GetChatClient(GptModel).AsIChatClient();

        var error = await Assert.ThrowsAsync<ClientResultException>(() => chat.GetResponseAsync("hi", cancellationToken: ct));

        Assert.Equal(401, error.Status);
        Assert.Equal("invalid_api_key", (string?)JsonNode.Parse(error.GetRawResponse()!.Content.ToString())!["error"]!["code"]);
    }

    [Fact]
    public async Task OpenAI_streaming_yields_text_tool_calls_and_usage()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeOpenAIServer.StartAsync(cancellationToken: ct);
        using var chat = OpenAIChatClientFor(server);
        server.Enqueue(FakeReply.ToolCall("read_file", """{"path":"x.md"}""", id: "call_s"), FakeReply.Text("streamed text"));
        var options = new ChatOptions { Tools = [ReadFile] };

        var toolTurn = await chat.GetStreamingResponseAsync("go", options, ct).ToChatResponseAsync(ct);
        var textTurn = await chat.GetStreamingResponseAsync("go on", options, ct).ToChatResponseAsync(ct);

        Assert.True(server.Requests.All(r => r.IsStreaming));
        Assert.True((bool?)server.Requests[0].Json!["stream_options"]!["include_usage"]);
        var call = Assert.Single(toolTurn.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal(("call_s", "read_file", "x.md"), (call.CallId, call.Name, call.Arguments!["path"]?.ToString()));
        Assert.Equal(ChatFinishReason.ToolCalls, toolTurn.FinishReason);
        Assert.Equal("streamed text", textTurn.Text);
        Assert.Equal(ChatFinishReason.Stop, textTurn.FinishReason);
        Assert.Equal(OpenAIPromptTokens(server.Requests[1].Json!.AsObject()), textTurn.Usage!.InputTokenCount);
        Assert.Equal(4, textTurn.Usage.OutputTokenCount);
    }

    // ---------------------------------------------------------------- helpers

    private static AnthropicClient AnthropicClientFor(FakeAnthropicServer server) =>
        new() { ApiKey = server.ApiKey, BaseUrl = server.BaseUrl.ToString(), MaxRetries = 0 };

    private static IChatClient OpenAIChatClientFor(FakeOpenAIServer server) =>
        new OpenAIClient(new ApiKeyCredential(server.ApiKey), new OpenAIClientOptions { Endpoint = server.BaseUrl, RetryPolicy = new ClientRetryPolicy(maxRetries: 0) })
            .GetChatClient(GptModel)
            .AsIChatClient();

    /// <summary>The documented fake tokenizer for Anthropic: tools, system blocks, each message's role and content blocks.</summary>
    private static long AnthropicPromptTokens(JsonObject body)
    {
        long bytes = 0;
        foreach (var tool in body["tools"]?.AsArray() ?? [])
        {
            bytes += Utf8WithoutCacheControl(tool!);
        }

        foreach (var block in body["system"]?.AsArray() ?? [])
        {
            bytes += Utf8WithoutCacheControl(block!);
        }

        foreach (var message in body["messages"]!.AsArray())
        {
            bytes += Encoding.UTF8.GetByteCount((string)message!["role"]!);
            foreach (var block in message["content"]!.AsArray())
            {
                bytes += Utf8WithoutCacheControl(block!);
            }
        }

        return FakeModelServer.EstimateTokens(bytes);
    }

    /// <summary>The documented fake tokenizer for OpenAI: each tool and each message as compact JSON.</summary>
    private static long OpenAIPromptTokens(JsonObject body) =>
        FakeModelServer.EstimateTokens(
            (body["tools"]?.AsArray() ?? []).Concat(body["messages"]!.AsArray()).Sum(node => (long)Encoding.UTF8.GetByteCount(node!.ToJsonString())));

    private static int Utf8WithoutCacheControl(JsonNode block)
    {
        var copy = block.DeepClone().AsObject();
        copy.Remove("cache_control");
        return Encoding.UTF8.GetByteCount(copy.ToJsonString());
    }

    /// <summary>What an HTTP handler in the SDK's pipeline sees: the Retry-After header of each response.</summary>
    private sealed class ResponseHeaderRecorder : DelegatingHandler
    {
        private readonly List<string?> _retryAfter = [];

        public IReadOnlyList<string?> RetryAfter
        {
            get
            {
                lock (_retryAfter)
                {
                    return _retryAfter.ToArray();
                }
            }
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            lock (_retryAfter)
            {
                _retryAfter.Add(response.Headers.TryGetValues("Retry-After", out var values) ? string.Join(",", values) : null);
            }

            return response;
        }
    }
}
