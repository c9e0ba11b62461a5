using System.Text;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Agents;
using DevOrchestrator.Features.Costs;
using DevOrchestrator.Features.Events;
using DevOrchestrator.Features.Health;
using DevOrchestrator.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.UnitTests.Agents;

public sealed class ModelClientsTests
{
    private static DevOrchestratorOptions Settings(params (string Key, string Value)[] values) =>
        DevOrchestratorOptions.Read(new ConfigurationBuilder().AddInMemoryCollection(values.ToDictionary(v => v.Key, v => (string?)v.Value)).Build());

    /// <summary>The real <see cref="ModelClients"/> with real dependencies; resolving a model touches none of them.</summary>
    private static ModelClients Clients(DevOrchestratorOptions settings)
    {
        var time = TimeProvider.System;
        // The ledger's database is never opened here (the factory builds no connection until a context is used).
        var dbContexts = new ServiceCollection()
            .AddPooledDbContextFactory<SqliteAppDbContext>(o => o.UseSqlite("Data Source=:memory:"))
            .AddSingleton<IDbContextFactory<AppDbContext>, AppDbContextFactory<SqliteAppDbContext>>()
            .BuildServiceProvider().GetRequiredService<IDbContextFactory<AppDbContext>>();
        return new ModelClients(
            Options.Create(settings.Models),
            Options.Create(settings.Agents),
            Options.Create(settings.Budget),
            new ModelPrices(Options.Create(settings.Budget)),
            new CostLedger(dbContexts, Options.Create(settings.Budget), new EventPublisher(time), time, NullLogger<CostLedger>.Instance),
            new ModelResilience(Options.Create(settings.Models), Options.Create(settings.Resilience), time),
            new DevOrchestratorMetrics(),
            NullLoggerFactory.Instance,
            time);
    }

    private static ModelClients Clients(params (string Key, string Value)[] values) => Clients(Settings(values));

    [Fact]
    public void Without_a_provider_every_role_fails_naming_the_settings_to_set()
    {
        using var clients = Clients();

        Assert.Null(clients.Provider);
        foreach (var role in AgentRoles.All)
        {
            var resolve = Assert.Throws<ModelUnavailableException>(() => clients.Resolve(role));
            var usable = Assert.Throws<ModelUnavailableException>(() => clients.EnsureUsable(role));
            foreach (var message in new[] { resolve.Message, usable.Message })
            {
                Assert.Contains("ANTHROPIC_API_KEY", message, StringComparison.Ordinal);
                Assert.Contains("OPENAI_BASE_URL", message, StringComparison.Ordinal);
                Assert.Contains("OPENAI_API_KEY", message, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void An_anthropic_key_picks_anthropic_and_its_default_models()
    {
        using var clients = Clients(("ANTHROPIC_API_KEY", "fake-anthropic-key"));

        Assert.Equal(ModelClients.Anthropic, clients.Provider);
        Assert.Equal(new ModelTarget("anthropic", "claude-sonnet-4-5"), clients.Resolve(AgentRoles.Development));
        Assert.Equal(new ModelTarget("anthropic", "claude-sonnet-4-5"), clients.Resolve(AgentRoles.Planning));
        Assert.Equal(new ModelTarget("anthropic", "claude-sonnet-4-5"), clients.Resolve(AgentRoles.Review));
        Assert.Equal(new ModelTarget("anthropic", "claude-haiku-4-5"), clients.Resolve(AgentRoles.Summary));
    }

    [Theory]
    [InlineData("OPENAI_API_KEY", "fake-openai-key")]
    [InlineData("OPENAI_BASE_URL", "http://localhost:11434/v1")]
    public void An_openai_key_or_base_url_picks_openai_and_its_default_models(string key, string value)
    {
        using var clients = Clients((key, value));

        Assert.Equal(ModelClients.OpenAI, clients.Provider);
        Assert.Equal(new ModelTarget("openai", "gpt-4.1"), clients.Resolve(AgentRoles.Development));
        Assert.Equal(new ModelTarget("openai", "gpt-4.1"), clients.Resolve(AgentRoles.Review));
        Assert.Equal(new ModelTarget("openai", "gpt-4.1-mini"), clients.Resolve(AgentRoles.Summary));
    }

    [Fact]
    public void Auto_prefers_anthropic_and_ai_provider_chooses()
    {
        (string, string)[] both = [("ANTHROPIC_API_KEY", "fake-anthropic-key"), ("OPENAI_API_KEY", "fake-openai-key")];
        using var auto = Clients(both);
        using var openai = Clients([.. both, ("AI_PROVIDER", "openai")]);
        using var anthropic = Clients([.. both, ("AI_PROVIDER", "anthropic")]);

        Assert.Equal(ModelClients.Anthropic, auto.Provider);
        Assert.Equal(ModelClients.OpenAI, openai.Provider);
        Assert.Equal("gpt-4.1", openai.Resolve(AgentRoles.Development).Model);
        Assert.Equal(ModelClients.Anthropic, anthropic.Provider);
    }

    [Fact]
    public void Ai_provider_anthropic_without_its_key_says_so()
    {
        using var clients = Clients(("AI_PROVIDER", "anthropic"), ("OPENAI_API_KEY", "fake-openai-key"));

        var error = Assert.Throws<ModelUnavailableException>(() => clients.Resolve(AgentRoles.Development));

        Assert.Equal(ModelClients.Anthropic, clients.Provider);
        Assert.Equal("AI_PROVIDER=anthropic but ANTHROPIC_API_KEY is not set", error.Message);
    }

    [Fact]
    public void Ai_provider_openai_without_key_or_base_url_says_so()
    {
        using var clients = Clients(("AI_PROVIDER", "openai"), ("ANTHROPIC_API_KEY", "fake-anthropic-key"));

        var error = Assert.Throws<ModelUnavailableException>(() => clients.EnsureUsable(AgentRoles.Review));

        Assert.Contains("AI_PROVIDER=openai", error.Message, StringComparison.Ordinal);
        Assert.Contains("OPENAI_API_KEY", error.Message, StringComparison.Ordinal);
        Assert.Contains("OPENAI_BASE_URL", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_role_reads_its_own_model_setting()
    {
        using var clients = Clients(
            ("ANTHROPIC_API_KEY", "fake-anthropic-key"),
            ("DEVELOPMENT_MODEL", "  claude-opus-4-5  "),
            ("PLANNING_MODEL", "claude-opus-4-1"),
            ("REVIEW_MODEL", "claude-sonnet-4-20250514"),
            ("SUMMARY_MODEL", "claude-3-5-haiku-20241022"));

        Assert.Equal(new ModelTarget("anthropic", "claude-opus-4-5"), clients.Resolve(AgentRoles.Development));
        Assert.Equal(new ModelTarget("anthropic", "claude-opus-4-1"), clients.Resolve(AgentRoles.Planning));
        Assert.Equal(new ModelTarget("anthropic", "claude-sonnet-4-20250514"), clients.EnsureUsable(AgentRoles.Review));
        Assert.Equal(new ModelTarget("anthropic", "claude-3-5-haiku-20241022"), clients.EnsureUsable(AgentRoles.Summary));
    }

    [Fact]
    public void A_blank_model_setting_falls_back_to_the_default()
    {
        using var clients = Clients(("ANTHROPIC_API_KEY", "fake-anthropic-key"), ("REVIEW_MODEL", "   "));

        Assert.Equal("claude-sonnet-4-5", clients.Resolve(AgentRoles.Review).Model);
    }

    [Fact]
    public void An_unknown_role_is_a_programming_error()
    {
        using var clients = Clients(("ANTHROPIC_API_KEY", "fake-anthropic-key"));

        Assert.Throws<ArgumentOutOfRangeException>(() => clients.Resolve("poet"));
    }

    [Theory]
    [InlineData(AgentRoles.Development, "DEVELOPMENT_MODEL")]
    [InlineData(AgentRoles.Planning, "PLANNING_MODEL")]
    [InlineData(AgentRoles.Review, "REVIEW_MODEL")]
    [InlineData(AgentRoles.Summary, "SUMMARY_MODEL")]
    public void An_unpriced_model_with_cost_tracking_on_names_model_prices_and_the_roles_setting(string role, string setting)
    {
        using var clients = Clients(("OPENAI_BASE_URL", "http://localhost:11434/v1"), (setting, "qwen2.5-coder"));

        var error = Assert.Throws<ModelUnavailableException>(() => clients.EnsureUsable(role));

        Assert.Equal(setting, ModelClients.SettingOf(role));
        Assert.Contains("'qwen2.5-coder'", error.Message, StringComparison.Ordinal);
        Assert.Contains("MODEL_PRICES", error.Message, StringComparison.Ordinal);
        Assert.Contains(setting, error.Message, StringComparison.Ordinal);
        Assert.Contains("COST_TRACKING_ENABLED=false", error.Message, StringComparison.Ordinal);

        // Resolving alone does not look at prices.
        Assert.Equal(new ModelTarget("openai", "qwen2.5-coder"), clients.Resolve(role));
    }

    [Fact]
    public void An_unpriced_model_is_allowed_with_cost_tracking_off()
    {
        using var clients = Clients(("OPENAI_BASE_URL", "http://localhost:11434/v1"), ("DEVELOPMENT_MODEL", "qwen2.5-coder"), ("COST_TRACKING_ENABLED", "false"));

        Assert.Equal(new ModelTarget("openai", "qwen2.5-coder"), clients.EnsureUsable(AgentRoles.Development));
        Assert.Null(clients.PriceOf("qwen2.5-coder"));
        Assert.Equal(128_000, clients.ContextWindow("qwen2.5-coder"));
    }

    [Fact]
    public void A_model_priced_in_settings_is_usable_and_uses_its_context_window()
    {
        using var clients = Clients(
            ("OPENAI_BASE_URL", "http://localhost:11434/v1"),
            ("DEVELOPMENT_MODEL", "qwen2.5-coder"),
            ("MODEL_PRICES:qwen2.5-coder:input", "0"),
            ("MODEL_PRICES:qwen2.5-coder:output", "0"),
            ("MODEL_PRICES:qwen2.5-coder:context_window", "32768"));

        Assert.Equal(new ModelTarget("openai", "qwen2.5-coder"), clients.EnsureUsable(AgentRoles.Development));
        Assert.Equal(32_768, clients.ContextWindow("qwen2.5-coder"));
        Assert.Equal(0m, clients.PriceOf("qwen2.5-coder")!.Output);
    }

    [Fact]
    public void The_documented_model_prices_example_makes_an_ollama_model_usable()
    {
        // docs/agents.md: MODEL_PRICES in appsettings.json, with an Ollama model id (which has a colon).
        const string appsettings = """
            { "MODEL_PRICES": {
                "llama3.1:8b":        { "input": 0, "output": 0, "context_window": 131072 },
                "my-gateway-sonnet":  { "input": 3, "output": 15, "cache_write": 3.75, "cache_read": 0.3, "context_window": 200000 } } }
            """;
        var configuration = new ConfigurationBuilder()
            .AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(appsettings)))
            .AddInMemoryCollection(new Dictionary<string, string?> { ["OPENAI_BASE_URL"] = "http://localhost:11434/v1", ["DEVELOPMENT_MODEL"] = "llama3.1:8b", ["REVIEW_MODEL"] = "my-gateway-sonnet" })
            .Build();
        using var clients = Clients(DevOrchestratorOptions.Read(configuration));

        Assert.Equal(new ModelTarget("openai", "llama3.1:8b"), clients.EnsureUsable(AgentRoles.Development));
        Assert.Equal(131_072, clients.ContextWindow("llama3.1:8b"));
        Assert.Equal(new ModelTarget("openai", "my-gateway-sonnet"), clients.EnsureUsable(AgentRoles.Review));
        Assert.Equal(3.75m, clients.PriceOf("my-gateway-sonnet")!.CacheWrite);
        Assert.Null(clients.PriceOf("llama3.1"));
    }

    [Theory]
    [InlineData(ModelClients.Anthropic, AgentRoles.Development, "claude-sonnet-4-5")]
    [InlineData(ModelClients.Anthropic, AgentRoles.Planning, "claude-sonnet-4-5")]
    [InlineData(ModelClients.Anthropic, AgentRoles.Review, "claude-sonnet-4-5")]
    [InlineData(ModelClients.Anthropic, AgentRoles.Summary, "claude-haiku-4-5")]
    [InlineData(ModelClients.OpenAI, AgentRoles.Development, "gpt-4.1")]
    [InlineData(ModelClients.OpenAI, AgentRoles.Planning, "gpt-4.1")]
    [InlineData(ModelClients.OpenAI, AgentRoles.Review, "gpt-4.1")]
    [InlineData(ModelClients.OpenAI, AgentRoles.Summary, "gpt-4.1-mini")]
    public void Default_models_are_priced_so_a_default_setup_is_usable(string provider, string role, string model)
    {
        using var clients = Clients(provider == ModelClients.Anthropic ? ("ANTHROPIC_API_KEY", "fake-anthropic-key") : ("OPENAI_API_KEY", "fake-openai-key"));

        Assert.Equal(model, ModelClients.DefaultModel(provider, role));
        Assert.Equal(new ModelTarget(provider, model), clients.EnsureUsable(role));
        Assert.Same(ModelPrices.BuiltIn[model], clients.PriceOf(model));
    }

    [Fact]
    public void Context_windows_come_from_the_price_table()
    {
        using var clients = Clients(("ANTHROPIC_API_KEY", "fake-anthropic-key"));

        Assert.Equal(200_000, clients.ContextWindow("claude-sonnet-4-5-20250929"));
        Assert.Equal(1_047_576, clients.ContextWindow("gpt-4.1-mini"));
        Assert.Equal(128_000, clients.ContextWindow("some-unknown-model"));
    }
}
