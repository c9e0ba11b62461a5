using DevOrchestrator.Features.Costs;
using Microsoft.Extensions.AI;

namespace DevOrchestrator.Features.Agents;

/// <summary>Reads a response's tokens the way they are priced, from the SDK's own response when it is known.</summary>
public static class ModelUsage
{
    public static TokenUsage Read(ChatResponse response)
    {
        switch (response.RawRepresentation)
        {
            case Anthropic.Models.Messages.Message { Usage: { } u }:
                // Anthropic: input_tokens excludes the cached tokens, which are reported (and priced) apart.
                return new TokenUsage(u.InputTokens, u.OutputTokens, u.CacheCreationInputTokens ?? 0, u.CacheReadInputTokens ?? 0);
            case OpenAI.Chat.ChatCompletion { Usage: { } u }:
                // OpenAI: prompt_tokens includes the cached ones; caching has no write charge.
                var cached = u.InputTokenDetails?.CachedTokenCount ?? 0;
                return new TokenUsage(u.InputTokenCount - cached, u.OutputTokenCount, 0, cached);
        }

        var details = response.Usage;
        if (details is null)
        {
            return default;
        }

        var cachedInput = details.CachedInputTokenCount ?? 0;
        return new TokenUsage(Math.Max(0, (details.InputTokenCount ?? 0) - cachedInput), details.OutputTokenCount ?? 0, 0, cachedInput);
    }
}
