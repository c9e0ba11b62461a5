using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Costs;

/// <summary>
/// The price table: built-in prices of current Claude and OpenAI models (list prices per million tokens, late 2026),
/// overridden and extended by <c>MODEL_PRICES</c> in configuration. A model id matches the longest entry that is equal
/// to it or a prefix of it followed by <c>-</c> (so <c>claude-sonnet-4-5-20250929</c> finds <c>claude-sonnet-4-5</c>).
/// An unknown model has no price.
/// </summary>
public sealed class ModelPrices
{
    public static readonly IReadOnlyDictionary<string, ModelPrice> BuiltIn = new Dictionary<string, ModelPrice>(StringComparer.OrdinalIgnoreCase)
    {
        ["claude-opus-4-5"] = ModelPrice.Of(5m, 25m, 6.25m, 0.50m, 200_000),
        ["claude-opus-4-1"] = ModelPrice.Of(15m, 75m, 18.75m, 1.50m, 200_000),
        ["claude-opus-4"] = ModelPrice.Of(15m, 75m, 18.75m, 1.50m, 200_000),
        ["claude-sonnet-4-5"] = ModelPrice.Of(3m, 15m, 3.75m, 0.30m, 200_000),
        ["claude-sonnet-4"] = ModelPrice.Of(3m, 15m, 3.75m, 0.30m, 200_000),
        ["claude-3-7-sonnet"] = ModelPrice.Of(3m, 15m, 3.75m, 0.30m, 200_000),
        ["claude-haiku-4-5"] = ModelPrice.Of(1m, 5m, 1.25m, 0.10m, 200_000),
        ["claude-3-5-haiku"] = ModelPrice.Of(0.80m, 4m, 1m, 0.08m, 200_000),
        ["gpt-5"] = ModelPrice.Of(1.25m, 10m, 0m, 0.125m, 400_000),
        ["gpt-5-mini"] = ModelPrice.Of(0.25m, 2m, 0m, 0.025m, 400_000),
        ["gpt-5-nano"] = ModelPrice.Of(0.05m, 0.40m, 0m, 0.005m, 400_000),
        ["gpt-4.1"] = ModelPrice.Of(2m, 8m, 0m, 0.50m, 1_047_576),
        ["gpt-4.1-mini"] = ModelPrice.Of(0.40m, 1.60m, 0m, 0.10m, 1_047_576),
        ["gpt-4.1-nano"] = ModelPrice.Of(0.10m, 0.40m, 0m, 0.025m, 1_047_576),
        ["gpt-4o"] = ModelPrice.Of(2.50m, 10m, 0m, 1.25m, 128_000),
        ["gpt-4o-mini"] = ModelPrice.Of(0.15m, 0.60m, 0m, 0.075m, 128_000),
        ["o3"] = ModelPrice.Of(2m, 8m, 0m, 0.50m, 200_000),
        ["o3-mini"] = ModelPrice.Of(1.10m, 4.40m, 0m, 0.55m, 200_000),
        ["o4-mini"] = ModelPrice.Of(1.10m, 4.40m, 0m, 0.275m, 200_000),
    };

    private readonly Dictionary<string, ModelPrice> _prices;

    public ModelPrices(IOptions<BudgetOptions> options)
    {
        var settings = options.Value;
        _prices = new Dictionary<string, ModelPrice>(BuiltIn, StringComparer.OrdinalIgnoreCase);
        foreach (var (model, price) in settings.ModelPrices)
        {
            _prices[model] = price;
        }
    }

    public IReadOnlyDictionary<string, ModelPrice> All => _prices;

    public ModelPrice? Find(string model)
    {
        if (_prices.TryGetValue(model, out var exact))
        {
            return exact;
        }

        ModelPrice? best = null;
        var bestLength = 0;
        foreach (var (id, price) in _prices)
        {
            if (id.Length > bestLength && model.Length > id.Length && model[id.Length] == '-' &&
                model.StartsWith(id, StringComparison.OrdinalIgnoreCase))
            {
                best = price;
                bestLength = id.Length;
            }
        }

        return best;
    }
}
