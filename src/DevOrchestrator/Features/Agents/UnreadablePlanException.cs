namespace DevOrchestrator.Features.Agents;

/// <summary>The model answered, but not with a readable plan. The call was still paid: <see cref="CostUsd"/>.</summary>
public sealed class UnreadablePlanException(string message, decimal costUsd = 0m) : Exception(message)
{
    public decimal CostUsd { get; } = costUsd;
}
