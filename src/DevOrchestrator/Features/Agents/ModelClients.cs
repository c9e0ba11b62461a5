using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using Anthropic;
using DevOrchestrator.Features.Costs;
using DevOrchestrator.Features.Health;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using OpenAI;

namespace DevOrchestrator.Features.Agents;

/// <summary>
/// Builds the <see cref="IChatClient"/> for an agent role: the provider's official SDK (Anthropic's <c>AsIChatClient</c>,
/// or OpenAI's for any OpenAI-compatible endpoint) under one decorator pipeline — OpenTelemetry (one span per model
/// call, outermost so that <see cref="MeteredChatClient"/> can put the call's cost on it) →
/// <see cref="MeteredChatClient"/> (budgets and the cost ledger) → logging (message contents only at Trace) →
/// <see cref="ResilientChatClient"/> → the SDK. The SDK clients are made once per provider; the
/// decorators are cheap and made per agent run because they carry its task and agent execution.
/// </summary>
public sealed class ModelClients(
    IOptions<ModelOptions> modelOptions,
    IOptions<AgentOptions> agentOptions,
    IOptions<BudgetOptions> budgetOptions,
    ModelPrices prices,
    CostLedger ledger,
    ModelResilience resilience,
    DevOrchestratorMetrics metrics,
    ILoggerFactory loggerFactory,
    TimeProvider timeProvider) : IDisposable
{
    public const string Anthropic = "anthropic";
    public const string OpenAI = "openai";
    public const string TelemetrySource = "DevOrchestrator.Models";

    private readonly ConcurrentDictionary<(string Provider, string Model), IChatClient> _sdkClients = new();
    private readonly Lazy<HttpClient> _http = new(() => new HttpClient(new RetryAfterCapture(timeProvider)
    {
        InnerHandler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) },
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    });

    private readonly ModelOptions _models = modelOptions.Value;
    private readonly AgentOptions _agents = agentOptions.Value;
    private readonly BudgetOptions _budget = budgetOptions.Value;
    private AnthropicClient? _anthropic;
    private OpenAIClient? _openAI;

    /// <summary>The provider in use: <c>AI_PROVIDER</c>, or the first configured one; null when none is.</summary>
    public string? Provider => _models.AiProvider switch
    {
        Anthropic => Anthropic,
        OpenAI => OpenAI,
        _ when !string.IsNullOrWhiteSpace(_models.AnthropicApiKey) => Anthropic,
        _ when !string.IsNullOrWhiteSpace(_models.OpenAIApiKey) || !string.IsNullOrWhiteSpace(_models.OpenAIBaseUrl) => OpenAI,
        _ => null,
    };

    /// <summary>The model for a role: its setting, else the provider's default.</summary>
    public ModelTarget Resolve(string role)
    {
        var provider = Provider ?? throw new ModelUnavailableException(
            "no AI provider is configured: set ANTHROPIC_API_KEY (Claude), or OPENAI_API_KEY and/or OPENAI_BASE_URL (OpenAI or an OpenAI-compatible endpoint such as Ollama)");
        if (provider == Anthropic && string.IsNullOrWhiteSpace(_models.AnthropicApiKey))
        {
            throw new ModelUnavailableException("AI_PROVIDER=anthropic but ANTHROPIC_API_KEY is not set");
        }

        if (provider == OpenAI && string.IsNullOrWhiteSpace(_models.OpenAIApiKey) && string.IsNullOrWhiteSpace(_models.OpenAIBaseUrl))
        {
            throw new ModelUnavailableException("AI_PROVIDER=openai but neither OPENAI_API_KEY nor OPENAI_BASE_URL is set");
        }

        var configured = role switch
        {
            AgentRoles.Development => _models.DevelopmentModel,
            AgentRoles.Planning => _models.PlanningModel,
            AgentRoles.Review => _models.ReviewModel,
            AgentRoles.Summary => _models.SummaryModel,
            _ => throw new ArgumentOutOfRangeException(nameof(role), role, "unknown agent role"),
        };
        return new ModelTarget(provider, string.IsNullOrWhiteSpace(configured) ? DefaultModel(provider, role) : configured.Trim());
    }

    public static string DefaultModel(string provider, string role) => (provider, role) switch
    {
        (Anthropic, AgentRoles.Summary) => "claude-haiku-4-5",
        (Anthropic, _) => "claude-sonnet-4-5",
        (_, AgentRoles.Summary) => "gpt-4.1-mini",
        _ => "gpt-4.1",
    };

    public static string SettingOf(string role) => role.ToUpperInvariant() + "_MODEL";

    public static string NoPriceMessage(string model) =>
        $"model '{model}' has no price, so its cost cannot be tracked: add it to MODEL_PRICES (see docs/agents.md) or set COST_TRACKING_ENABLED=false";

    /// <summary>Throws <see cref="ModelUnavailableException"/> unless a task may use the role's model now.</summary>
    public ModelTarget EnsureUsable(string role)
    {
        var target = Resolve(role);
        if (_budget.CostTrackingEnabled && prices.Find(target.Model) is null)
        {
            throw new ModelUnavailableException(NoPriceMessage(target.Model) + $" (the {role} model is set by {SettingOf(role)})");
        }

        return target;
    }

    public ModelPrice? PriceOf(string model) => prices.Find(model);

    /// <summary>The context window of a model in tokens (from the price table; 128k when unknown).</summary>
    public int ContextWindow(string model) => prices.Find(model)?.ContextWindow is > 0 and var window ? window : 128_000;

    /// <summary>The metered, resilient client for one agent run.</summary>
    public IChatClient Create(string role, ModelCallScope scope)
    {
        var target = EnsureUsable(role);
        var sdk = _sdkClients.GetOrAdd((target.Provider, target.Model), key => CreateSdkClient(key.Provider, key.Model));
        return new ChatClientBuilder(sdk)
            // Model, tokens and cost; never the messages (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT is overridden).
            .UseOpenTelemetry(loggerFactory, TelemetrySource, telemetry => telemetry.EnableSensitiveData = false)
            .Use(inner => new MeteredChatClient(inner, target, scope, ledger, prices.Find(target.Model), _agents.AgentMaxOutputTokens, metrics, timeProvider))
            .UseLogging(loggerFactory)
            .Use(inner => new ResilientChatClient(inner, resilience.For(target.Provider)))
            .Build();
    }

    /// <summary>
    /// The models the provider lists (a free call: no tokens), for connection checks. Throws the SDK's exception when
    /// the provider refuses or cannot be reached.
    /// </summary>
    public async Task<IReadOnlyList<string>> ListModelsAsync(string provider, CancellationToken cancellationToken)
    {
        if (provider == Anthropic)
        {
            var page = await AnthropicSdk().Models.List(new global::Anthropic.Models.Models.ModelListParams { Limit = 100 }, cancellationToken);
            return page.Items.Select(m => m.ID).ToList();
        }

        var models = await OpenAISdk().GetOpenAIModelClient().GetModelsAsync(cancellationToken);
        return models.Value.Select(m => m.Id).ToList();
    }

    private IChatClient CreateSdkClient(string provider, string model) =>
        provider == Anthropic ? AnthropicSdk().AsIChatClient(model, _agents.AgentMaxOutputTokens) : OpenAISdk().GetChatClient(model).AsIChatClient();

    private AnthropicClient AnthropicSdk() => _anthropic ??= new AnthropicClient(new Anthropic.Core.ClientOptions
    {
        ApiKey = _models.AnthropicApiKey!,
        BaseUrl = string.IsNullOrWhiteSpace(_models.AnthropicBaseUrl) ? "https://api.anthropic.com" : _models.AnthropicBaseUrl.TrimEnd('/'),
        MaxRetries = 0,
        Timeout = TimeSpan.FromSeconds(_models.ModelTimeoutSeconds),
        HttpClient = _http.Value,
    });

    private OpenAIClient OpenAISdk() => _openAI ??= new OpenAIClient(
        new ApiKeyCredential(string.IsNullOrWhiteSpace(_models.OpenAIApiKey) ? "unused" : _models.OpenAIApiKey),
        new OpenAIClientOptions
        {
            Endpoint = string.IsNullOrWhiteSpace(_models.OpenAIBaseUrl) ? null : new Uri(_models.OpenAIBaseUrl),
            Transport = new HttpClientPipelineTransport(_http.Value),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromSeconds(_models.ModelTimeoutSeconds),
        });

    public void Dispose()
    {
        if (_http.IsValueCreated)
        {
            _http.Value.Dispose();
        }
    }
}
