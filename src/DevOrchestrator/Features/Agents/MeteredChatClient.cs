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
