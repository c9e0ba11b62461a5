namespace DevOrchestrator.FakeVendors;

/// <summary>Settings of a fake model server, fixed when it starts.</summary>
public sealed class FakeModelServerOptions
{
    /// <summary>The API key the server accepts; null: the vendor server's <c>DefaultApiKey</c>.</summary>
    public string? ApiKey { get; init; }

    /// <summary>
    /// Keep every request in <see cref="FakeModelServer.Requests"/> (default). Benchmarks with many requests can turn it
    /// off; responders still see each request, and the status counters still count.
    /// </summary>
    public bool RecordRequests { get; init; } = true;

    /// <summary>The answer when nothing is scripted and there is no responder; null: <c>FakeReply.Text("done")</c>.</summary>
    public FakeReply? DefaultReply { get; init; }

    /// <summary>
    /// Anthropic only: breakpoint prefixes shorter than this many tokens are not cached (the real API's minimum is 1024
    /// to 4096 tokens depending on the model). Default 0: every breakpoint caches, so small test prompts can exercise
    /// caching.
    /// </summary>
    public int MinimumCacheableTokens { get; init; }

    /// <summary>
    /// The clock for <c>created</c> timestamps and cache lifetimes (Anthropic entries live 5 minutes, or 1 hour for
    /// <c>ttl: "1h"</c>, refreshed on each hit; OpenAI entries never expire). Reply delays run on it too, so with a fake
    /// clock a delayed reply waits until the test advances it. Default <see cref="TimeProvider.System"/>.
    /// </summary>
    public TimeProvider? TimeProvider { get; init; }
}
