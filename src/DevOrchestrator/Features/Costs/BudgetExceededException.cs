namespace DevOrchestrator.Features.Costs;

/// <summary>A model call that was not made because it could break a budget.</summary>
public sealed class BudgetExceededException(string message, string budget, decimal limitUsd, decimal spentUsd) : Exception(message)
{
    /// <summary><c>task</c> or <c>monthly</c>.</summary>
    public string Budget { get; } = budget;
    public decimal LimitUsd { get; } = limitUsd;
    public decimal SpentUsd { get; } = spentUsd;

    /// <summary>Outputs of the stopped step to keep (the branch its partial work was pushed to).</summary>
    public IReadOnlyDictionary<string, object?>? Outputs { get; init; }
}
