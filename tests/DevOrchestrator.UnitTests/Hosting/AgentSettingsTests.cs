using DevOrchestrator.Hosting;
using Microsoft.Extensions.Configuration;

namespace DevOrchestrator.UnitTests.Hosting;

/// <summary>The model, agent, budget and resilience settings: defaults, aliases and validation naming the variable.</summary>
public sealed class AgentSettingsTests
{
    private static DevOrchestratorOptions Read(params (string Key, string Value)[] values) =>
        DevOrchestratorOptions.Read(new ConfigurationBuilder().AddInMemoryCollection(values.ToDictionary(v => v.Key, v => (string?)v.Value)).Build());

    private static string SingleError(params (string Key, string Value)[] values) =>
        Assert.Single(Assert.Throws<SettingsException>(() => Read(values)).Errors);

    [Fact]
    public void Defaults_are_the_documented_ones()
    {
        var settings = Read();

        Assert.Equal("auto", settings.Models.AiProvider);
        Assert.Null(settings.Models.DevelopmentModel);
        Assert.Equal(40, settings.Agents.AgentMaxTurns);
        Assert.Equal(8192, settings.Agents.AgentMaxOutputTokens);
        Assert.Equal(2, settings.Agents.AgentVerifyAttempts);
        Assert.Equal(20_000, settings.Agents.AgentToolOutputChars);
        Assert.True(settings.Budget.CostTrackingEnabled);
        Assert.Equal(100m, settings.Budget.MonthlyBudgetUsd);
        Assert.Equal(10m, settings.Budget.PerTaskLimitUsd);
        Assert.Equal(4, settings.Models.ModelRetryAttempts);
        Assert.Equal(600, settings.Models.ModelTimeoutSeconds);
        Assert.Equal(10, settings.Models.ModelRequestsPerSecond);
        Assert.Equal(20, settings.Models.ModelMaxConcurrentRequests);
        Assert.True(settings.Resilience.CircuitBreakerEnabled);
        Assert.Equal(5, settings.Resilience.CircuitBreakerThreshold);
        Assert.Empty(settings.Budget.ModelPrices);
    }

    [Fact]
    public void Budget_aliases_are_read_and_the_main_names_win()
    {
        var aliases = Read(("MONTHLY_BUDGET", "50"), ("MAX_COST_PER_TASK", "2.5"));
        var both = Read(("MONTHLY_BUDGET", "50"), ("MONTHLY_BUDGET_LIMIT", "75"), ("MAX_COST_PER_TASK", "2.5"), ("PER_TASK_COST_LIMIT", "1.25"));

        Assert.Equal(50m, aliases.Budget.MonthlyBudgetUsd);
        Assert.Equal(2.5m, aliases.Budget.PerTaskLimitUsd);
        Assert.Equal(75m, both.Budget.MonthlyBudgetUsd);
        Assert.Equal(1.25m, both.Budget.PerTaskLimitUsd);
    }

    [Theory]
    [InlineData("gemini")]
    [InlineData("Anthropic")]
    [InlineData("")]
    public void A_bad_ai_provider_is_refused(string value) =>
        Assert.Equal($"AI_PROVIDER must be auto, anthropic or openai (got '{value}').", SingleError(("AI_PROVIDER", value)));

    [Theory]
    [InlineData("ANTHROPIC_BASE_URL", "ftp://models.example.com")]
    [InlineData("ANTHROPIC_BASE_URL", "api.anthropic.com")]
    [InlineData("OPENAI_BASE_URL", "localhost:11434/v1")]
    [InlineData("OPENAI_BASE_URL", "/v1")]
    [InlineData("OPENAI_BASE_URL", "file:///tmp/socket")]
    public void Base_urls_must_be_http(string setting, string value) =>
        Assert.Equal($"{setting} must be an http(s) URL (got '{value}').", SingleError((setting, value)));

    [Fact]
    public void Http_and_https_base_urls_are_accepted()
    {
        var settings = Read(("ANTHROPIC_BASE_URL", "https://gateway.example.com"), ("OPENAI_BASE_URL", "http://localhost:11434/v1"));

        Assert.Equal("https://gateway.example.com", settings.Models.AnthropicBaseUrl);
        Assert.Equal("http://localhost:11434/v1", settings.Models.OpenAIBaseUrl);
    }

    [Theory]
    [InlineData("AGENT_MAX_TURNS", "0")]
    [InlineData("AGENT_MAX_TURNS", "1001")]
    [InlineData("AGENT_MAX_OUTPUT_TOKENS", "255")]
    [InlineData("AGENT_MAX_OUTPUT_TOKENS", "200001")]
    [InlineData("AGENT_VERIFY_ATTEMPTS", "-1")]
    [InlineData("AGENT_VERIFY_ATTEMPTS", "21")]
    [InlineData("AGENT_TOOL_OUTPUT_CHARS", "999")]
    [InlineData("MODEL_TIMEOUT_SECONDS", "0")]
    [InlineData("MODEL_RETRY_ATTEMPTS", "-1")]
    [InlineData("MODEL_RETRY_ATTEMPTS", "21")]
    [InlineData("MODEL_REQUESTS_PER_SECOND", "0")]
    [InlineData("MODEL_REQUESTS_PER_SECOND", "-2.5")]
    [InlineData("MODEL_MAX_CONCURRENT_REQUESTS", "0")]
    [InlineData("MODEL_MAX_CONCURRENT_REQUESTS", "10001")]
    [InlineData("MODEL_TOKENS_PER_MINUTE", "-1")]
    [InlineData("CIRCUIT_BREAKER_THRESHOLD", "0")]
    [InlineData("MONTHLY_BUDGET_LIMIT", "-1")]
    [InlineData("PER_TASK_COST_LIMIT", "-0.01")]
    public void Out_of_range_values_are_refused_by_name(string setting, string value) =>
        Assert.StartsWith(setting + " must", SingleError((setting, value)), StringComparison.Ordinal);

    [Theory]
    [InlineData("MONTHLY_BUDGET", "MONTHLY_BUDGET_LIMIT")]
    [InlineData("MAX_COST_PER_TASK", "PER_TASK_COST_LIMIT")]
    public void A_negative_alias_is_refused_by_the_main_name(string alias, string setting) =>
        Assert.StartsWith(setting + " must not be negative", SingleError((alias, "-5")), StringComparison.Ordinal);

    [Fact]
    public void The_edges_of_each_range_are_accepted()
    {
        var low = Read(
            ("AGENT_MAX_TURNS", "1"), ("AGENT_MAX_OUTPUT_TOKENS", "256"), ("AGENT_VERIFY_ATTEMPTS", "0"), ("AGENT_TOOL_OUTPUT_CHARS", "1000"),
            ("MODEL_TIMEOUT_SECONDS", "1"), ("MODEL_RETRY_ATTEMPTS", "0"), ("MODEL_REQUESTS_PER_SECOND", "0.5"), ("MODEL_MAX_CONCURRENT_REQUESTS", "1"),
            ("CIRCUIT_BREAKER_THRESHOLD", "1"), ("MONTHLY_BUDGET_LIMIT", "0"), ("PER_TASK_COST_LIMIT", "0"));
        var high = Read(
            ("AGENT_MAX_TURNS", "1000"), ("AGENT_MAX_OUTPUT_TOKENS", "200000"), ("AGENT_VERIFY_ATTEMPTS", "20"),
            ("MODEL_RETRY_ATTEMPTS", "20"), ("MODEL_MAX_CONCURRENT_REQUESTS", "10000"));

        Assert.Equal(1, low.Agents.AgentMaxTurns);
        Assert.Equal(256, low.Agents.AgentMaxOutputTokens);
        Assert.Equal(0.5, low.Models.ModelRequestsPerSecond);
        Assert.Equal(0m, low.Budget.MonthlyBudgetUsd);
        Assert.Equal(1000, high.Agents.AgentMaxTurns);
        Assert.Equal(200_000, high.Agents.AgentMaxOutputTokens);
        Assert.Equal(10_000, high.Models.ModelMaxConcurrentRequests);
    }

    [Fact]
    public void Every_bad_agent_value_is_reported_at_once()
    {
        var errors = Assert.Throws<SettingsException>(() => Read(
            ("AI_PROVIDER", "gemini"), ("OPENAI_BASE_URL", "localhost"), ("AGENT_MAX_TURNS", "0"), ("MODEL_RETRY_ATTEMPTS", "99"), ("MONTHLY_BUDGET_LIMIT", "-1"))).Errors;

        Assert.Equal(5, errors.Count);
        foreach (var setting in new[] { "AI_PROVIDER", "OPENAI_BASE_URL", "AGENT_MAX_TURNS", "MODEL_RETRY_ATTEMPTS", "MONTHLY_BUDGET_LIMIT" })
        {
            Assert.Contains(errors, e => e.StartsWith(setting, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Model_prices_are_read_by_their_snake_case_names()
    {
        var settings = Read(
            ("MODEL_PRICES:my-gateway-sonnet:input", "3"),
            ("MODEL_PRICES:my-gateway-sonnet:output", "15"),
            ("MODEL_PRICES:my-gateway-sonnet:cache_write", "3.75"),
            ("MODEL_PRICES:my-gateway-sonnet:cache_read", "0.3"),
            ("MODEL_PRICES:my-gateway-sonnet:context_window", "200000"),
            ("MODEL_PRICES:free-model:output", "0"));

        var price = settings.Budget.ModelPrices["MY-GATEWAY-SONNET"];
        Assert.Equal((3m, 15m, 3.75m, 0.3m, 200_000), (price.Input, price.Output, price.CacheWrite, price.CacheRead, price.ContextWindow));
        Assert.Equal(128_000, settings.Budget.ModelPrices["free-model"].ContextWindow);
    }

    [Theory]
    [InlineData("input")]
    [InlineData("output")]
    [InlineData("cache_write")]
    [InlineData("cache_read")]
    [InlineData("context_window")]
    public void Negative_model_prices_are_refused_naming_the_model(string field) =>
        Assert.Equal("MODEL_PRICES:my-model: prices and context_window must not be negative.", SingleError(("MODEL_PRICES:my-model:" + field, "-1")));

    [Fact]
    public void A_model_price_that_is_not_a_number_names_its_key() =>
        Assert.Equal("MODEL_PRICES:my-model:input must be a number.", SingleError(("MODEL_PRICES:my-model:input", "cheap")));

    [Fact]
    public void Model_ids_with_a_colon_keep_it()
    {
        // Configuration takes ':' for a section separator; Ollama's ids have one (llama3.1:8b, qwen2.5-coder:32b).
        var settings = Read(
            ("MODEL_PRICES:llama3.1:8b:input", "0.1"),
            ("MODEL_PRICES:llama3.1:8b:context_window", "131072"),
            ("MODEL_PRICES:llama3.1:70b:input", "0.5"),
            ("MODEL_PRICES:plain:output", "2"));

        Assert.Equal(["llama3.1:70b", "llama3.1:8b", "plain"], settings.Budget.ModelPrices.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(0.1m, settings.Budget.ModelPrices["llama3.1:8b"].Input);
        Assert.Equal(131_072, settings.Budget.ModelPrices["llama3.1:8b"].ContextWindow);
        Assert.Equal(0.5m, settings.Budget.ModelPrices["llama3.1:70b"].Input);
        Assert.Equal(2m, settings.Budget.ModelPrices["plain"].Output);
    }

    [Fact]
    public void A_negative_price_of_a_model_id_with_a_colon_is_refused() =>
        Assert.Equal("MODEL_PRICES:qwen2.5-coder:32b: prices and context_window must not be negative.", SingleError(("MODEL_PRICES:qwen2.5-coder:32b:output", "-1")));

    [Fact]
    public void A_cost_tracking_flag_that_is_not_a_boolean_names_the_variable() =>
        Assert.Equal("COST_TRACKING_ENABLED must be true or false.", SingleError(("COST_TRACKING_ENABLED", "sometimes")));
}
