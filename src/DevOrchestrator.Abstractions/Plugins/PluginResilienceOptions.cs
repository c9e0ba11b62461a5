namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>
/// The resilience every vendor plugin's HTTP calls go through (the host fills it from <c>PLUGIN_RETRY_ATTEMPTS</c>,
/// <c>CIRCUIT_BREAKER_*</c>, <c>RATE_LIMIT*</c>; a plugin may override the rate).
/// </summary>
public sealed class PluginResilienceOptions
{
    public int RetryAttempts { get; set; } = 3;

    /// <summary>The first retry's delay; later ones double, with jitter. A <c>Retry-After</c> header wins.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    public bool CircuitBreakerEnabled { get; set; } = true;

    /// <summary>Consecutive failed attempts that open the circuit.</summary>
    public int CircuitBreakerThreshold { get; set; } = 5;

    /// <summary>How long an open circuit refuses calls before letting a trial call through (half-open).</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Successful trial calls in a row that close a half-open circuit.</summary>
    public int SuccessesToClose { get; set; } = 2;

    public bool RateLimitingEnabled { get; set; } = true;

    public double RequestsPerSecond { get; set; } = 2.0;

    /// <summary>One attempt's limit.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The limit of one call with all its retries and waits.</summary>
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromMinutes(3);
}
