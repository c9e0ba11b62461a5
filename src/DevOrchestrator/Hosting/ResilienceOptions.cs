using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Hosting;

/// <summary>The circuit breaker shared by the model clients (Agents) and the vendor plugins (Plugins).</summary>
public sealed class ResilienceOptions
{
    [ConfigurationKeyName("CIRCUIT_BREAKER_ENABLED")] public bool CircuitBreakerEnabled { get; set; } = true;

    [ConfigurationKeyName("CIRCUIT_BREAKER_THRESHOLD")]
    [Range(1, int.MaxValue, ErrorMessage = "CIRCUIT_BREAKER_THRESHOLD must be at least 1.")]
    public int CircuitBreakerThreshold { get; set; } = 5;
}

[OptionsValidator]
internal sealed partial class ResilienceOptionsValidator : IValidateOptions<ResilienceOptions>;
