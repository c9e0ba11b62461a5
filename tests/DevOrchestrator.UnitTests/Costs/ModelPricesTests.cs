using DevOrchestrator.Features.Costs;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.UnitTests.Costs;

public sealed class ModelPricesTests
{
    private static readonly ModelPrices s_builtIn = new(Options.Create(new BudgetOptions()));

    [Theory]
    [InlineData("claude-sonnet-4-5", "claude-sonnet-4-5")]
    [InlineData("claude-sonnet-4-5-20250929", "claude-sonnet-4-5")]
    [InlineData("claude-sonnet-4-20250514", "claude-sonnet-4")]
    [InlineData("claude-opus-4-1-20250805", "claude-opus-4-1")]
    [InlineData("claude-opus-4-20250514", "claude-opus-4")]
    [InlineData("claude-haiku-4-5-20251001", "claude-haiku-4-5")]
    [InlineData("claude-3-5-haiku-20241022", "claude-3-5-haiku")]
    [InlineData("CLAUDE-Sonnet-4-5", "claude-sonnet-4-5")]
    [InlineData("gpt-4.1", "gpt-4.1")]
    [InlineData("gpt-4.1-mini", "gpt-4.1-mini")]
    [InlineData("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini")]
    [InlineData("gpt-4.1-2025-04-14", "gpt-4.1")]
    [InlineData("gpt-4o-mini-2024-07-18", "gpt-4o-mini")]
    [InlineData("gpt-5", "gpt-5")]
    [InlineData("gpt-5-mini", "gpt-5-mini")]
    [InlineData("gpt-5-mini-2025-08-07", "gpt-5-mini")]
    [InlineData("gpt-5-2025-08-07", "gpt-5")]
    [InlineData("o4-mini-2025-04-16", "o4-mini")]
    public void A_model_id_finds_the_longest_entry_it_equals_or_extends_with_a_dash(string model, string entry)
    {
        var price = s_builtIn.Find(model);

        Assert.Same(ModelPrices.BuiltIn[entry], price);
    }

    [Fact]
    public void Families_that_share_a_prefix_keep_their_own_prices()
    {
        Assert.Equal(2m, s_builtIn.Find("gpt-4.1-2025-04-14")!.Input);
        Assert.Equal(0.40m, s_builtIn.Find("gpt-4.1-mini-2025-04-14")!.Input);
        Assert.Equal(1.25m, s_builtIn.Find("gpt-5")!.Input);
        Assert.Equal(0.25m, s_builtIn.Find("gpt-5-mini")!.Input);
        Assert.Equal(0.05m, s_builtIn.Find("gpt-5-nano-2025-08-07")!.Input);
    }

    [Theory]
    [InlineData("llama3.1:8b")]
    [InlineData("mistral-large")]
    [InlineData("claude-sonnet")]
    [InlineData("gpt-50")]
    [InlineData("gpt-4.1mini")]
    [InlineData("")]
    public void An_unknown_model_has_no_price(string model) => Assert.Null(s_builtIn.Find(model));

    [Fact]
    public void Settings_add_prices_and_override_built_in_ones()
    {
        var settings = new BudgetOptions();
        settings.ModelPrices["llama3.1-8b"] = ModelPrice.Of(0m, 0m, 0m, 0m, 131_072);
        settings.ModelPrices["CLAUDE-SONNET-4-5"] = ModelPrice.Of(2m, 10m, 2.5m, 0.2m, 1_000_000);
        settings.ModelPrices["claude-sonnet-4-5-fast"] = ModelPrice.Of(6m, 30m, 7.5m, 0.6m, 200_000);

        var prices = new ModelPrices(Options.Create(settings));

        Assert.Equal(131_072, prices.Find("llama3.1-8b")!.ContextWindow);
        Assert.Equal(0m, prices.Find("llama3.1-8b-q4")!.Output);
        Assert.Equal(2m, prices.Find("claude-sonnet-4-5")!.Input);
        Assert.Equal(10m, prices.Find("claude-sonnet-4-5-20250929")!.Output);
        Assert.Equal(6m, prices.Find("claude-sonnet-4-5-fast-2026")!.Input);
        Assert.Same(ModelPrices.BuiltIn["claude-sonnet-4"], prices.Find("claude-sonnet-4-20250514"));
        Assert.Equal(ModelPrices.BuiltIn.Count + 2, prices.All.Count);

        // The shared built-in table is not changed by one instance's overrides.
        Assert.Equal(3m, ModelPrices.BuiltIn["claude-sonnet-4-5"].Input);
        Assert.Equal(3m, s_builtIn.Find("claude-sonnet-4-5")!.Input);
    }

    [Fact]
    public void Cost_prices_each_kind_of_token_at_its_own_rate()
    {
        var sonnet = ModelPrices.BuiltIn["claude-sonnet-4-5"];

        Assert.Equal(18m, sonnet.Cost(1_000_000, 1_000_000, 0, 0));
        Assert.Equal(3.75m, sonnet.Cost(0, 0, 1_000_000, 0));
        Assert.Equal(0.30m, sonnet.Cost(0, 0, 0, 1_000_000));

        // (1000×3 + 500×15 + 2000×3.75 + 4000×0.30) / 1e6
        Assert.Equal(0.0192m, sonnet.Cost(1_000, 500, 2_000, 4_000));
        Assert.Equal(0m, sonnet.Cost(0, 0, 0, 0));

        var mini = ModelPrices.BuiltIn["gpt-4.1-mini"];
        // (10000×0.40 + 2000×1.60 + 5000×0.10) / 1e6
        Assert.Equal(0.0077m, mini.Cost(10_000, 2_000, 0, 5_000));
    }

    [Fact]
    public void Worst_case_charges_every_input_token_at_the_dearest_input_rate_and_the_whole_output_allowance()
    {
        // Anthropic: cache writes (3.75) are dearer than plain input (3).
        Assert.Equal(0.16038m, ModelPrices.BuiltIn["claude-sonnet-4-5"].WorstCase(10_000, 8_192));

        // OpenAI: plain input (2) is the dearest; cached input is cheaper and there is no write charge.
        Assert.Equal(0.028m, ModelPrices.BuiltIn["gpt-4.1"].WorstCase(10_000, 1_000));

        // Whichever rate is dearest wins, even an odd configuration where cache reads are.
        var odd = ModelPrice.Of(1m, 2m, 0.5m, 5m, 1000);
        Assert.Equal(0.005m, odd.WorstCase(1_000, 0));
        Assert.Equal(0.002m, odd.WorstCase(0, 1_000));

        // The worst case is never below what the same call can cost.
        var sonnet = ModelPrices.BuiltIn["claude-sonnet-4-5"];
        Assert.True(sonnet.WorstCase(10_000, 8_192) >= sonnet.Cost(0, 8_192, 10_000, 0));
        Assert.True(sonnet.WorstCase(10_000, 8_192) >= sonnet.Cost(10_000, 8_192, 0, 0));
    }

    [Fact]
    public void Every_built_in_price_is_complete()
    {
        foreach (var (model, price) in ModelPrices.BuiltIn)
        {
            Assert.True(price.Input > 0, model);
            Assert.True(price.Output > price.Input, model);
            Assert.True(price.CacheRead < price.Input, model);
            Assert.True(price.ContextWindow >= 128_000, model);
            if (model.StartsWith("claude-", StringComparison.Ordinal))
            {
                Assert.Equal(price.Input * 1.25m, price.CacheWrite);
                Assert.Equal(price.Input * 0.1m, price.CacheRead);
            }
            else
            {
                Assert.Equal(0m, price.CacheWrite);
            }
        }
    }
}

public sealed class MoneyTests
{
    [Theory]
    [InlineData("0", 0)]
    [InlineData("0.25", 250_000)]
    [InlineData("0.16038", 160_380)]
    [InlineData("0.1603801", 160_381)]
    [InlineData("0.0000001", 1)]
    [InlineData("0.0000009", 1)]
    [InlineData("1.0000001", 1_000_001)]
    [InlineData("100", 100_000_000)]
    public void Reservations_round_up_to_the_next_micro_dollar(string usd, long micros) =>
        Assert.Equal(micros, Money.ToMicrosCeiling(decimal.Parse(usd, System.Globalization.CultureInfo.InvariantCulture)));

    [Theory]
    [InlineData("0.0000004", 0)]
    [InlineData("0.0000005", 1)]
    [InlineData("0.0000015", 2)]
    [InlineData("0.0192", 19_200)]
    [InlineData("0.1603801", 160_380)]
    [InlineData("10", 10_000_000)]
    public void Costs_round_to_the_nearest_micro_dollar(string usd, long micros) =>
        Assert.Equal(micros, Money.ToMicros(decimal.Parse(usd, System.Globalization.CultureInfo.InvariantCulture)));

    [Fact]
    public void Micro_dollars_convert_back_exactly()
    {
        Assert.Equal(1.5m, Money.ToUsd(1_500_000));
        Assert.Equal(0.000001m, Money.ToUsd(1));
        Assert.Equal(0.0192m, Money.ToUsd(Money.ToMicros(0.0192m)));
        Assert.Equal(0m, Money.ToUsd(0));
    }
}
