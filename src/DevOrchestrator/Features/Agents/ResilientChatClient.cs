using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Polly;

namespace DevOrchestrator.Features.Agents;

/// <summary>
/// Resilience of model calls, one pipeline per provider (shared by every call to it, so its circuit and its limits are
/// the provider's): retries with jittered exponential backoff on 429, 529 (overloaded), 408, 5xx and network errors,
/// waiting at least what the provider's <c>retry-after</c> asks; a circuit breaker that opens after
/// <c>CIRCUIT_BREAKER_THRESHOLD</c> failed attempts in a row of a minute and tries again after 60 s; and a client-side
/// limit of <c>MODEL_REQUESTS_PER_SECOND</c> and <c>MODEL_MAX_CONCURRENT_REQUESTS</c> per attempt. The SDKs' own
/// retries are turned off so that this is the only retry loop.
/// </summary>
public sealed class ResilientChatClient(IChatClient inner, ResiliencePipeline pipeline) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            var list = messages as IList<ChatMessage> ?? messages.ToList();
            return await pipeline.ExecuteAsync(
                static async (ctx, state) =>
                {
                    // The handler under the SDK writes the response's retry-after into this box (it flows down, not up).
                    var box = new StrongBox<TimeSpan?>();
                    ctx.Properties.Set(ModelResilience.RetryAfterKey, box);
                    RetryAfterCapture.Current.Value = box;
                    return await state.Client.InnerClient.GetResponseAsync(state.Messages, state.Options, ctx.CancellationToken);
                },
                context,
                (Client: this, Messages: list, Options: options));
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("DevOrchestrator's agents do not stream model responses.");
}
