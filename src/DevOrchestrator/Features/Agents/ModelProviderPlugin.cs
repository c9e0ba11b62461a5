using DevOrchestrator.Abstractions.Plugins;

namespace DevOrchestrator.Features.Agents;

/// <summary>
/// A model provider in the plugin registry (<c>ai_provider/anthropic</c>, <c>ai_provider/openai</c>): listed with its
/// settings, checked by listing the provider's models (a call that costs no tokens). The agents reach models through
/// <see cref="ModelClients"/>, which reads these settings at start: they cannot be stored through the API.
/// </summary>
public sealed class ModelProviderPlugin(string name, ModelOptions settings, ModelClients models) : IAiProviderPlugin
{
    public string Type => PluginTypes.AiProvider;

    public string Name { get; } = name;

    public string Description => Name == ModelClients.Anthropic
        ? "Anthropic Claude through the official Anthropic SDK (the agents' models; see docs/agents.md)."
        : "OpenAI or any OpenAI-compatible endpoint (Azure, Ollama, vLLM, LM Studio, OpenRouter) through the official OpenAI SDK.";

    public IReadOnlyList<PluginSetting> Settings => Name == ModelClients.Anthropic
        ?
        [
            new("ANTHROPIC_API_KEY", "The Anthropic API key.", Required: true, Secret: true),
            new("ANTHROPIC_BASE_URL", "The API's base address.", Default: "https://api.anthropic.com"),
        ]
        :
        [
            new("OPENAI_API_KEY", "The API key (optional for a local endpoint with OPENAI_BASE_URL).", Secret: true),
            new("OPENAI_BASE_URL", "An OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 for Ollama.", Default: "https://api.openai.com/v1"),
        ];

    public bool IsConfigured => Name == ModelClients.Anthropic
        ? !string.IsNullOrWhiteSpace(settings.AnthropicApiKey)
        : !string.IsNullOrWhiteSpace(settings.OpenAIApiKey) || !string.IsNullOrWhiteSpace(settings.OpenAIBaseUrl);

    /// <summary>Every proposed change is refused: the model clients read these settings once, at start.</summary>
    public IReadOnlyDictionary<string, string> Validate(IReadOnlyDictionary<string, string?> values) => new Dictionary<string, string>
    {
        ["config"] = $"the {Name} settings are read at start: set them in the environment or .env and restart (they cannot be stored through the API)",
    };

    public async Task<PluginConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        if (!IsConfigured)
        {
            throw new PluginException(Name, $"not configured: set {string.Join(" or ", Settings.Where(s => s.Secret || s.Required).Select(s => s.Key))}");
        }

        var listed = await ListAsync(cancellationToken);
        return new PluginConnection($"{listed.Count} model(s) at {Host()}", new Dictionary<string, object> { ["models"] = listed.Take(20).ToArray() });
    }

    public async Task<PluginHealth> CheckHealthAsync(CancellationToken cancellationToken)
    {
        var listed = await ListAsync(cancellationToken);
        var wanted = models.Provider == Name ? AgentRoles.All.Select(r => models.Resolve(r).Model).Distinct().ToList() : [];
        var missing = wanted.Where(m => !listed.Contains(m, StringComparer.OrdinalIgnoreCase)).ToList();
        return new PluginHealth(true,
            missing.Count == 0 ? $"{listed.Count} model(s) listed" : $"{listed.Count} model(s) listed; not listed by the provider: {string.Join(", ", missing)}",
            new Dictionary<string, object> { ["in_use"] = models.Provider == Name });
    }

    private async Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await models.ListModelsAsync(Name, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new PluginException(Name, "listing the models failed: " + ModelResilience.Describe(ex), innerException: ex);
        }
    }

    private string Host()
    {
        var url = Name == ModelClients.Anthropic ? settings.AnthropicBaseUrl ?? "https://api.anthropic.com" : settings.OpenAIBaseUrl ?? "https://api.openai.com/v1";
        return Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.Authority : url;
    }
}
