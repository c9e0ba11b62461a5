using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Agents;

/// <summary>The agents' limits (how many run at once in a worker, their turns, output tokens, test-and-fix rounds and tool output) and where their prompt templates are overridden.</summary>
public sealed class AgentOptions
{
    [ConfigurationKeyName("MAX_CONCURRENT_AGENTS")]
    [Range(1, 1000, ErrorMessage = "MAX_CONCURRENT_AGENTS must be between 1 and 1000.")]
    public int MaxConcurrentAgents { get; set; } = 5;

    [ConfigurationKeyName("AGENT_MAX_TURNS")]
    [Range(1, 1000, ErrorMessage = "AGENT_MAX_TURNS must be between 1 and 1000.")]
    public int AgentMaxTurns { get; set; } = 40;

    [ConfigurationKeyName("AGENT_MAX_OUTPUT_TOKENS")]
    [Range(256, 200_000, ErrorMessage = "AGENT_MAX_OUTPUT_TOKENS must be between 256 and 200000.")]
    public int AgentMaxOutputTokens { get; set; } = 8192;

    [ConfigurationKeyName("AGENT_VERIFY_ATTEMPTS")]
    [Range(0, 20, ErrorMessage = "AGENT_VERIFY_ATTEMPTS must be between 0 and 20.")]
    public int AgentVerifyAttempts { get; set; } = 2;

    [ConfigurationKeyName("AGENT_TOOL_OUTPUT_CHARS")]
    [Range(1000, int.MaxValue, ErrorMessage = "AGENT_TOOL_OUTPUT_CHARS must be at least 1000.")]
    public int AgentToolOutputChars { get; set; } = 20_000;

    /// <summary>Prompt template overrides and step instruction templates (<c>*.liquid</c>): docs/agents.md, "Prompt templates".</summary>
    [ConfigurationKeyName("PROMPTS_DIR")]
    public string PromptsDir { get; set; } = "./prompts";
}

[OptionsValidator]
internal sealed partial class AgentOptionsValidator : IValidateOptions<AgentOptions>;
