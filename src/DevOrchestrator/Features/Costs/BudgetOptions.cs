using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Costs;

/// <summary>Cost tracking: the monthly and per-task limits (each with the guide's alias) and the model price table.</summary>
public sealed class BudgetOptions
{
    [ConfigurationKeyName("COST_TRACKING_ENABLED")] public bool CostTrackingEnabled { get; set; } = true;
    [ConfigurationKeyName("MONTHLY_BUDGET_LIMIT")] public decimal? MonthlyBudgetLimit { get; set; }

    /// <summary>Alias of <c>MONTHLY_BUDGET_LIMIT</c> (which wins when both are set).</summary>
    [ConfigurationKeyName("MONTHLY_BUDGET")] public decimal? MonthlyBudget { get; set; }
    [ConfigurationKeyName("PER_TASK_COST_LIMIT")] public decimal? PerTaskCostLimit { get; set; }

    /// <summary>Alias of <c>PER_TASK_COST_LIMIT</c> (which wins when both are set).</summary>
    [ConfigurationKeyName("MAX_COST_PER_TASK")] public decimal? MaxCostPerTask { get; set; }

    /// <summary>Prices per million tokens by model id (prefix match), over the built-in table; see <c>docs/agents.md</c>.</summary>
    [ConfigurationKeyName("MODEL_PRICES")] public Dictionary<string, ModelPrice> ModelPrices { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Not a setting: how long a reservation lives without its call ending, beyond every timeout and retry of one model
    /// call (from <c>MODEL_TIMEOUT_SECONDS</c> and <c>MODEL_RETRY_ATTEMPTS</c>, filled in when the options are read).
    /// </summary>
    public TimeSpan ReservationLifetime { get; set; } = ReservationLifetimeFor(600, 4);

    public decimal MonthlyBudgetUsd => MonthlyBudgetLimit ?? MonthlyBudget ?? 100m;

    public decimal PerTaskLimitUsd => PerTaskCostLimit ?? MaxCostPerTask ?? 10m;

    public static TimeSpan ReservationLifetimeFor(int modelTimeoutSeconds, int modelRetryAttempts) =>
        TimeSpan.FromSeconds(Math.Max(60, modelTimeoutSeconds) * (modelRetryAttempts + 1) + 300);
}

internal sealed class BudgetOptionsValidator : IValidateOptions<BudgetOptions>
{
    public ValidateOptionsResult Validate(string? name, BudgetOptions options)
    {
        var errors = new List<string>();
        if (options.MonthlyBudgetUsd < 0)
        {
            errors.Add("MONTHLY_BUDGET_LIMIT must not be negative.");
        }

        if (options.PerTaskLimitUsd < 0)
        {
            errors.Add("PER_TASK_COST_LIMIT must not be negative.");
        }

        foreach (var (model, price) in options.ModelPrices)
        {
            if (price.Input < 0 || price.Output < 0 || price.CacheWrite < 0 || price.CacheRead < 0 || price.ContextWindow < 0)
            {
                errors.Add($"MODEL_PRICES:{model}: prices and context_window must not be negative.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>
/// Reads <c>MODEL_PRICES</c> again after the binder: model ids may contain ':' (Ollama's <c>llama3.1:8b</c>), which
/// configuration takes for a section separator, so the binder files such a price under <c>llama3.1</c>; and it
/// drops an entry whose value does not convert instead of failing. A section with a price key is a model's price,
/// named by its path below <c>MODEL_PRICES</c>.
/// </summary>
internal static class ModelPriceBinding
{
    private static readonly string[] s_priceKeys = ["input", "output", "cache_write", "cache_read", "context_window"];

    public static void Read(IConfiguration configuration, Dictionary<string, ModelPrice> prices)
    {
        var root = configuration.GetSection("MODEL_PRICES");
        if (!root.Exists())
        {
            return;
        }

        prices.Clear();
        Read(root);

        void Read(IConfigurationSection section)
        {
            foreach (var child in section.GetChildren())
            {
                if (child.GetChildren().Any(c => s_priceKeys.Contains(c.Key, StringComparer.OrdinalIgnoreCase)))
                {
                    var price = new ModelPrice();
                    child.Bind(price);
                    prices[child.Path[(root.Path.Length + 1)..]] = price;
                }

                Read(child);
            }
        }
    }
}
