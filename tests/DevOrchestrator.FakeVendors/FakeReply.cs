namespace DevOrchestrator.FakeVendors;

/// <summary>
/// One scripted answer of a fake model server: a text (<see cref="FakeTextReply"/>), one or more tool calls
/// (<see cref="FakeToolCallsReply"/>) or an HTTP error (<see cref="FakeErrorReply"/>). Each vendor server renders it in
/// its own wire format. Records, so a variant is one <c>with</c> away: <c>FakeReply.Text("hi") with { Delay = … }</c>.
/// </summary>
public abstract record FakeReply
{
    /// <summary>How long the server waits before it answers (the caller's cancellation ends the wait).</summary>
    public TimeSpan Delay { get; init; }

    /// <summary>
    /// The usage to report instead of the computed one (success replies only). Null: computed from the request and
    /// the reply, see <see cref="FakeUsage"/>.
    /// </summary>
    public FakeUsage? Usage { get; init; }

    /// <summary>Extra response headers (for example <c>x-should-retry</c> or rate-limit headers).</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    /// <summary>A text answer that ends the turn.</summary>
    public static FakeTextReply Text(string text, FakeStopReason stopReason = FakeStopReason.EndTurn) => new(text, stopReason);

    /// <summary>One tool call; <paramref name="inputJson"/> is the JSON object of the arguments.</summary>
    public static FakeToolCallsReply ToolCall(string name, string inputJson = "{}", string? id = null) =>
        new([new FakeToolCall(name, inputJson, id)]);

    /// <summary>Several tool calls in one answer (parallel tool use).</summary>
    public static FakeToolCallsReply ToolCalls(params FakeToolCall[] calls) => new(calls);

    /// <summary>An HTTP error in the vendor's error shape.</summary>
    public static FakeErrorReply Error(int statusCode, string errorType, string message, string? retryAfter = null, string? code = null) =>
        new(statusCode, errorType, message, retryAfter, code);

    /// <summary>429 <c>rate_limit_error</c> (OpenAI code <c>rate_limit_exceeded</c>) with a <c>retry-after</c> header.</summary>
    public static FakeErrorReply RateLimited(string? retryAfter = "1") =>
        new(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit.", retryAfter, "rate_limit_exceeded");

    /// <summary>529 <c>overloaded_error</c> (Anthropic's "the API is temporarily overloaded").</summary>
    public static FakeErrorReply Overloaded() => new(529, "overloaded_error", "Overloaded", null, null);

    /// <summary>500 <c>api_error</c> (OpenAI code <c>server_error</c>).</summary>
    public static FakeErrorReply ServerError(string message = "Internal server error") => new(500, "api_error", message, null, "server_error");
}

/// <summary>A text answer. <see cref="FakeStopReason.ToolUse"/> is not meaningful here; use <see cref="FakeToolCallsReply"/>.</summary>
public sealed record FakeTextReply(string Content, FakeStopReason StopReason = FakeStopReason.EndTurn) : FakeReply;

/// <summary>
/// An answer that asks for tools (stop reason <c>tool_use</c> / finish reason <c>tool_calls</c>), optionally preceded by
/// some text.
/// </summary>
public sealed record FakeToolCallsReply(IReadOnlyList<FakeToolCall> Calls) : FakeReply
{
    /// <summary>Text the model "says" before its tool calls (Anthropic: a text block first; OpenAI: <c>content</c>).</summary>
    public string? Preamble { get; init; }
}

/// <summary>
/// An HTTP error: <paramref name="StatusCode"/>, the vendor's error <paramref name="ErrorType"/> (Anthropic
/// <c>error.type</c>, OpenAI <c>error.type</c>), a message, an optional <c>retry-after</c> header value and an optional
/// OpenAI <c>error.code</c>.
/// </summary>
public sealed record FakeErrorReply(int StatusCode, string ErrorType, string Message, string? RetryAfter = null, string? Code = null) : FakeReply;

/// <summary>
/// A 200 answer whose body is not the vendor's format — what a broken provider or proxy sends: malformed JSON, an empty
/// body, or (<paramref name="CutAfterBody"/>) a body cut off mid-way, the connection closed before its announced length.
/// </summary>
public sealed record FakeRawReply(string Body, string ContentType = "application/json", bool CutAfterBody = false) : FakeReply;

/// <summary>A tool call: the tool's name, its arguments as a JSON object, and an id (generated when null).</summary>
public sealed record FakeToolCall(string Name, string InputJson = "{}", string? Id = null);

/// <summary>Why a text answer ended.</summary>
public enum FakeStopReason
{
    /// <summary>Anthropic <c>end_turn</c>, OpenAI <c>stop</c>.</summary>
    EndTurn,

    /// <summary>Anthropic <c>max_tokens</c>, OpenAI <c>length</c>.</summary>
    MaxTokens,

    /// <summary>Anthropic <c>tool_use</c>, OpenAI <c>tool_calls</c>.</summary>
    ToolUse,
}

/// <summary>
/// Token usage in Anthropic's terms: <see cref="InputTokens"/> are the prompt tokens neither read from nor written to
/// the cache. OpenAI reports <c>prompt_tokens</c> = input + cache creation + cache read, <c>cached_tokens</c> = cache
/// read, <c>completion_tokens</c> = output.
/// </summary>
public sealed record FakeUsage(int InputTokens, int OutputTokens, int CacheCreationInputTokens = 0, int CacheReadInputTokens = 0)
{
    /// <summary>All prompt tokens: uncached + written to the cache + read from it.</summary>
    public int PromptTokens => InputTokens + CacheCreationInputTokens + CacheReadInputTokens;
}
