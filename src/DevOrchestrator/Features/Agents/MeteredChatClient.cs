using System.Text;
using System.Text.Json;
using DevOrchestrator.Features.Costs;
using DevOrchestrator.Features.Health;
using Microsoft.Extensions.AI;

namespace DevOrchestrator.Features.Agents;

/// <summary>
/// Meters every model call and enforces the budgets: before the call it reserves the call's worst-case cost (estimated
/// input tokens at the dearest input rate plus the whole output allowance) through <see cref="CostLedger"/>; a call
/// that could break the task's or the month's budget is not made (<see cref="BudgetExceededException"/>). After the
/// call it records the real tokens and dollars and releases the rest of the reservation; a failed call releases all.
/// The call's cost is put on the response (<see cref="CostKey"/>, <see cref="UsageKey"/>).
/// </summary>
public sealed class MeteredChatClient(
    IChatClient inner,
    ModelTarget target,
    ModelCallScope scope,
    CostLedger ledger,
    ModelPrice? price,
    int defaultMaxOutputTokens,
    DevOrchestratorMetrics metrics,
    TimeProvider timeProvider) : DelegatingChatClient(inner)
{
    public const string CostKey = "devorch.cost_usd";
    public const string UsageKey = "devorch.usage";

    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages as IList<ChatMessage> ?? messages.ToList();
        options = options?.Clone() ?? new ChatOptions();
        options.ModelId ??= target.Model;
        options.MaxOutputTokens ??= defaultMaxOutputTokens;
        if (price is null && ledger.Enforcing)
        {
            throw new ModelUnavailableException(ModelClients.NoPriceMessage(options.ModelId));
        }

        var worstCase = price?.WorstCase(TokenEstimate.Of(list, options), options.MaxOutputTokens.Value) ?? 0m;
        var reservation = await ledger.ReserveAsync(scope, Money.ToMicrosCeiling(worstCase), cancellationToken);
        var started = timeProvider.GetTimestamp();
        ChatResponse response;
        try
        {
            response = await base.GetResponseAsync(list, options, cancellationToken);
        }
        catch (Exception ex)
        {
            if (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                metrics.ModelErrors.WithLabels(target.Provider).Inc();
            }

            await ledger.ReleaseAsync(reservation);
            throw;
        }

        var usage = ModelUsage.Read(response);
        var usd = price?.Cost(usage.Input, usage.Output, usage.CacheWrite, usage.CacheRead) ?? 0m;
        await ledger.SettleAsync(reservation, scope, target.Provider, options.ModelId, usage, usd, timeProvider.GetElapsedTime(started));
        metrics.AiTokens.WithLabels(target.Provider, options.ModelId).Inc(usage.Total);
        metrics.AiCost.WithLabels(target.Provider, options.ModelId).Inc((double)usd);
        Hosting.Tracing.RecordModelCost(usd);
        (response.AdditionalProperties ??= [])[CostKey] = usd;
        response.AdditionalProperties[UsageKey] = usage;
        return response;
    }

    public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("DevOrchestrator's agents do not stream model responses (streamed calls would not be metered).");
}

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

/// <summary>
/// A conservative estimate of a request's input tokens without the provider's tokenizer: one token per three UTF-8
/// bytes of the messages and tool definitions as JSON (real tokenizers average about four for English and code), so the
/// reservation is an upper bound in practice.
/// </summary>
public static class TokenEstimate
{
    public static long Of(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        long bytes = 0;
        foreach (var message in messages)
        {
            bytes += 16;
            foreach (var content in message.Contents)
            {
                bytes += content switch
                {
                    TextContent text => Encoding.UTF8.GetByteCount(text.Text ?? string.Empty),
                    FunctionCallContent call => Encoding.UTF8.GetByteCount(call.Name) + JsonSize(call.Arguments),
                    FunctionResultContent result => JsonSize(result.Result),
                    _ => JsonSize(content),
                };
            }
        }

        if (options?.Instructions is { } instructions)
        {
            bytes += Encoding.UTF8.GetByteCount(instructions);
        }

        foreach (var tool in options?.Tools ?? [])
        {
            bytes += Encoding.UTF8.GetByteCount(tool.Name) + Encoding.UTF8.GetByteCount(tool.Description ?? string.Empty) + 32;
            if (tool is AIFunctionDeclaration function)
            {
                bytes += function.JsonSchema.GetRawText().Length;
            }
        }

        return (bytes + 2) / 3;
    }

    private static long JsonSize(object? value) => value switch
    {
        null => 4,
        string s => Encoding.UTF8.GetByteCount(s) + 2,
        _ => JsonSerializer.SerializeToUtf8Bytes(value, AIJsonUtilities.DefaultOptions).Length,
    };
}

/// <summary>The provider and model a call goes to.</summary>
public sealed record ModelTarget(string Provider, string Model);
