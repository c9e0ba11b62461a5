using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Hosting;

/// <summary>
/// The inbound API limits of the guide: requests per hour per authenticated user and per client IP, and the number of
/// agent operations (queued or running tasks) one user may have at once. docs/api.md, "Rate limits".
/// </summary>
public sealed class ApiRateLimitOptions
{
    /// <summary>Turns the request limits (per user, per IP) on or off; the active agent task limit has its own switch (0).</summary>
    [ConfigurationKeyName("API_RATE_LIMIT_ENABLED")] public bool Enabled { get; set; } = true;

    [ConfigurationKeyName("API_RATE_LIMIT_PER_HOUR")]
    [Range(1, int.MaxValue, ErrorMessage = "API_RATE_LIMIT_PER_HOUR must be at least 1 (turn the limits off with API_RATE_LIMIT_ENABLED=false).")]
    public int PerUserPerHour { get; set; } = 1000;

    [ConfigurationKeyName("API_RATE_LIMIT_ANONYMOUS_PER_HOUR")]
    [Range(1, int.MaxValue, ErrorMessage = "API_RATE_LIMIT_ANONYMOUS_PER_HOUR must be at least 1 (turn the limits off with API_RATE_LIMIT_ENABLED=false).")]
    public int AnonymousPerHour { get; set; } = 100;

    /// <summary>The longest a request waits for Redis's count before it is counted in this process instead.</summary>
    [ConfigurationKeyName("API_RATE_LIMIT_REDIS_TIMEOUT_MS")]
    [Range(10, 60_000, ErrorMessage = "API_RATE_LIMIT_REDIS_TIMEOUT_MS must be between 10 and 60000.")]
    public int RedisTimeoutMilliseconds { get; set; } = 1000;

    /// <summary>Queued or running tasks one user may have; 0 turns the limit off.</summary>
    [ConfigurationKeyName("API_MAX_ACTIVE_AGENT_TASKS_PER_USER")]
    [Range(0, int.MaxValue, ErrorMessage = "API_MAX_ACTIVE_AGENT_TASKS_PER_USER must be 0 (no limit) or more.")]
    public int MaxActiveAgentTasksPerUser { get; set; } = 50;
}

[OptionsValidator]
internal sealed partial class ApiRateLimitOptionsValidator : IValidateOptions<ApiRateLimitOptions>;
