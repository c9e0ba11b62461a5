using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Agents;

/// <summary>The model providers (Anthropic, OpenAI-compatible), the model of each agent role, and the limits of a model call.</summary>
public sealed class ModelOptions
{
    [ConfigurationKeyName("ANTHROPIC_API_KEY")] public string? AnthropicApiKey { get; set; }
    [ConfigurationKeyName("ANTHROPIC_BASE_URL")] public string? AnthropicBaseUrl { get; set; }
    [ConfigurationKeyName("OPENAI_API_KEY")] public string? OpenAIApiKey { get; set; }
    [ConfigurationKeyName("OPENAI_BASE_URL")] public string? OpenAIBaseUrl { get; set; }

    /// <summary><c>auto</c> (Anthropic when its key is set, else OpenAI-compatible when its key or base URL is set), <c>anthropic</c> or <c>openai</c>.</summary>
    [ConfigurationKeyName("AI_PROVIDER")] public string AiProvider { get; set; } = "auto";
    [ConfigurationKeyName("DEVELOPMENT_MODEL")] public string? DevelopmentModel { get; set; }
    [ConfigurationKeyName("PLANNING_MODEL")] public string? PlanningModel { get; set; }
    [ConfigurationKeyName("REVIEW_MODEL")] public string? ReviewModel { get; set; }
    [ConfigurationKeyName("SUMMARY_MODEL")] public string? SummaryModel { get; set; }

    [ConfigurationKeyName("MODEL_TIMEOUT_SECONDS")]
    [Range(1, int.MaxValue, ErrorMessage = "MODEL_TIMEOUT_SECONDS must be at least 1.")]
    public int ModelTimeoutSeconds { get; set; } = 600;

    [ConfigurationKeyName("MODEL_RETRY_ATTEMPTS")]
    [Range(0, 20, ErrorMessage = "MODEL_RETRY_ATTEMPTS must be between 0 and 20.")]
    public int ModelRetryAttempts { get; set; } = 4;

    [ConfigurationKeyName("MODEL_REQUESTS_PER_SECOND")]
    [Range(double.Epsilon, double.MaxValue, ErrorMessage = "MODEL_REQUESTS_PER_SECOND must be greater than 0.")]
    public double ModelRequestsPerSecond { get; set; } = 10;

    [ConfigurationKeyName("MODEL_MAX_CONCURRENT_REQUESTS")]
    [Range(1, 10_000, ErrorMessage = "MODEL_MAX_CONCURRENT_REQUESTS must be between 1 and 10000.")]
    public int ModelMaxConcurrentRequests { get; set; } = 20;

    /// <summary>Tokens (input + output) a minute the model calls may use, per provider; 0 is no limit. Fleet-wide with Redis.</summary>
    [ConfigurationKeyName("MODEL_TOKENS_PER_MINUTE")]
    [Range(0, int.MaxValue, ErrorMessage = "MODEL_TOKENS_PER_MINUTE must be 0 (no limit) or more.")]
    public int ModelTokensPerMinute { get; set; }
}

[OptionsValidator]
internal sealed partial class ModelOptionsRangeValidator : IValidateOptions<ModelOptions>;

/// <summary>The provider's name and the base URLs.</summary>
internal sealed class ModelOptionsValidator : IValidateOptions<ModelOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelOptions options)
    {
        var errors = new List<string>();
        if (options.AiProvider is not ("auto" or "anthropic" or "openai"))
        {
            errors.Add($"AI_PROVIDER must be auto, anthropic or openai (got '{options.AiProvider}').");
        }

        foreach (var (setting, value) in new[] { ("ANTHROPIC_BASE_URL", options.AnthropicBaseUrl), ("OPENAI_BASE_URL", options.OpenAIBaseUrl) })
        {
            if (value is { Length: > 0 } && (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
            {
                errors.Add($"{setting} must be an http(s) URL (got '{value}').");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
