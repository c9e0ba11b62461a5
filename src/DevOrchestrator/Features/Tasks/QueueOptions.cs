using System.ComponentModel.DataAnnotations;
using DevOrchestrator.Hosting;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Tasks;

/// <summary>The task queue and its workers: Redis for wake-ups, the number of workers, leases and the sweeper.</summary>
public sealed class QueueOptions
{
    [ConfigurationKeyName("REDIS_URL")] public string? RedisUrl { get; set; }
    [ConfigurationKeyName("REDIS_KEY_PREFIX")] public string RedisKeyPrefix { get; set; } = "devorch:";

    [ConfigurationKeyName("MAX_WORKERS")]
    [Range(1, 1000, ErrorMessage = "MAX_WORKERS must be between 1 and 1000.")]
    public int MaxWorkers { get; set; } = 10;

    [ConfigurationKeyName("TASK_LEASE_SECONDS")]
    [Range(5, int.MaxValue, ErrorMessage = "TASK_LEASE_SECONDS must be at least 5.")]
    public int TaskLeaseSeconds { get; set; } = 30;

    [ConfigurationKeyName("SWEEPER_INTERVAL_SECONDS")]
    [Range(1, int.MaxValue, ErrorMessage = "SWEEPER_INTERVAL_SECONDS must be at least 1.")]
    public int SweeperIntervalSeconds { get; set; } = 5;
}

[OptionsValidator]
internal sealed partial class QueueOptionsRangeValidator : IValidateOptions<QueueOptions>;

internal sealed class QueueOptionsValidator : IValidateOptions<QueueOptions>
{
    public ValidateOptionsResult Validate(string? name, QueueOptions options)
    {
        if (options.RedisUrl is { Length: > 0 } redisUrl)
        {
            try
            {
                _ = RedisUrls.ToConfiguration(redisUrl);
            }
            catch (FormatException ex)
            {
                return ValidateOptionsResult.Fail($"REDIS_URL is not a valid Redis URL: {ex.Message}");
            }
        }

        return ValidateOptionsResult.Success;
    }
}
