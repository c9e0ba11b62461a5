using System.Globalization;
using System.Threading.RateLimiting;
using DevOrchestrator.Features.Auth;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Hosting;

/// <summary>
/// The global limiter of ASP.NET Core's rate limiting middleware for <c>/api/*</c>: a fixed one-hour window (aligned to
/// the hour, the same on every replica) per authenticated user (<c>API_RATE_LIMIT_PER_HOUR</c>) or, without a valid
/// token, per client IP (<c>API_RATE_LIMIT_ANONYMOUS_PER_HOUR</c>). With <c>REDIS_URL</c> the counts live in Redis (one
/// atomic script: increment, set expiry), shared by every API replica; without it, or while Redis does not answer
/// within <c>API_RATE_LIMIT_REDIS_TIMEOUT_MS</c>, in this process. Sets <c>X-RateLimit-Limit</c>, <c>X-RateLimit-Remaining</c>
/// and <c>X-RateLimit-Reset</c> (Unix epoch seconds at which the window ends) on every limited response.
/// docs/api.md, "Rate limits"; docs/decisions/0040.
/// </summary>
public sealed partial class ApiRateLimiter : PartitionedRateLimiter<HttpContext>
{
    public const string LimitHeader = "X-RateLimit-Limit";
    public const string RemainingHeader = "X-RateLimit-Remaining";
    public const string ResetHeader = "X-RateLimit-Reset";

    public static readonly TimeSpan Window = TimeSpan.FromHours(1);

    /// <summary>After Redis failed, requests are counted in this process for this long before Redis is tried again (no request waits on a Redis that is down).</summary>
    public static readonly TimeSpan RedisRetryAfter = TimeSpan.FromSeconds(5);

    // KEYS[1]: the partition's counter for this window; ARGV[1]: when it may be forgotten (epoch seconds).
    private const string IncrementScript = """
        local count = redis.call('INCR', KEYS[1])
        if count == 1 then redis.call('EXPIREAT', KEYS[1], ARGV[1]) end
        return count
        """;

    private static readonly RateLimitLease s_unlimited = new Lease(acquired: true, retryAfter: null);

    private readonly ApiRateLimitOptions _options;
    private readonly RedisConnection? _redis;
    private readonly string _keyPrefix;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<ApiRateLimiter> _logger;
    private readonly ApiRateLimitWindows _local = new();
    private readonly TimeSpan _redisTimeout;
    private int _redisFailing;
    private long _redisSkipUntil;

    public ApiRateLimiter(IOptions<ApiRateLimitOptions> options, TimeProvider timeProvider,
        ILogger<ApiRateLimiter> logger, IServiceProvider services)
    {
        _options = options.Value;
        _redisTimeout = TimeSpan.FromMilliseconds(_options.RedisTimeoutMilliseconds);
        _timeProvider = timeProvider;
        _logger = logger;
        _redis = services.GetService<RedisConnection>();
        _keyPrefix = (_redis?.KeyPrefix ?? "") + "ratelimit:";
        // Starts connecting now (not awaited), so that the first requests find the connection ready.
        _ = _redis?.GetAsync();
    }

    /// <summary>Whether requests to <paramref name="path"/> are counted: <c>/api/*</c> except the health report.</summary>
    public static bool IsLimited(PathString path) =>
        path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase) && !path.StartsWithSegments("/api/v1/health", StringComparison.OrdinalIgnoreCase);

    /// <summary>Writes the 429 envelope; the middleware calls it for a request over its limit.</summary>
    public static async ValueTask RejectAsync(OnRejectedContext context, CancellationToken cancellationToken)
    {
        var http = context.HttpContext;
        var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
        var seconds = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds));
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var (setting, who) = http.User.UserId() is not null
            ? ("API_RATE_LIMIT_PER_HOUR", "per user")
            : ("API_RATE_LIMIT_ANONYMOUS_PER_HOUR", "per client IP without a token");
        await Api.Error(http, StatusCodes.Status429TooManyRequests, ErrorCodes.RateLimited,
                $"Rate limit exceeded: {http.Response.Headers[LimitHeader]} requests per hour {who} ({setting}). Retry after {seconds} seconds.")
            .ExecuteAsync(http);
    }

    public override RateLimiterStatistics? GetStatistics(HttpContext resource) => null;

    protected override RateLimitLease AttemptAcquireCore(HttpContext resource, int permitCount)
    {
        if (!IsLimited(resource.Request.Path))
        {
            return s_unlimited;
        }

        if (_redis is not null)
        {
            // The count needs a round trip to Redis: a refusal here sends the middleware on to AcquireAsyncCore.
            return new Lease(acquired: false, retryAfter: null);
        }

        var partition = Partition(resource);
        var window = CurrentWindow();
        return Count(resource, partition, window, _local.Increment(partition.Key, window));
    }

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(HttpContext resource, int permitCount, CancellationToken cancellationToken)
    {
        if (!IsLimited(resource.Request.Path))
        {
            return s_unlimited;
        }

        var partition = Partition(resource);
        var window = CurrentWindow();
        var count = await CountInRedisAsync(partition.Key, window) ?? _local.Increment(partition.Key, window);
        return Count(resource, partition, window, count);
    }

    private (string Key, int Limit) Partition(HttpContext context) => context.User.UserId() is { } userId
        ? (string.Create(CultureInfo.InvariantCulture, $"user:{userId}"), _options.PerUserPerHour)
        : ("ip:" + ClientNetwork(context.Connection.RemoteIpAddress), _options.AnonymousPerHour);

    /// <summary>
    /// The client's address as a partition: an IPv4 address (also when it arrives IPv4-mapped on a dual-stack socket),
    /// or an IPv6 address's /64 network — one host is usually given a whole /64 and could otherwise change address per
    /// request.
    /// </summary>
    internal static string ClientNetwork(System.Net.IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6 || System.Net.IPAddress.IsLoopback(address))
        {
            return address.ToString();
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new System.Net.IPAddress(bytes) + "/64";
    }

    private long CurrentWindow() => _timeProvider.GetUtcNow().ToUnixTimeSeconds() / (long)Window.TotalSeconds;

    private RateLimitLease Count(HttpContext context, (string Key, int Limit) partition, long window, long count)
    {
        var now = _timeProvider.GetUtcNow().ToUnixTimeSeconds();
        var reset = (window + 1) * (long)Window.TotalSeconds;
        var headers = context.Response.Headers;
        headers[LimitHeader] = partition.Limit.ToString(CultureInfo.InvariantCulture);
        headers[RemainingHeader] = Math.Max(0, partition.Limit - count).ToString(CultureInfo.InvariantCulture);
        headers[ResetHeader] = reset.ToString(CultureInfo.InvariantCulture);
        return count <= partition.Limit ? s_unlimited : new Lease(acquired: false, TimeSpan.FromSeconds(Math.Max(1, reset - now)));
    }

    /// <summary>The partition's count after this request, or null when Redis is not set or does not answer in time.</summary>
    private async ValueTask<long?> CountInRedisAsync(string partition, long window)
    {
        if (_redis is null || _timeProvider.GetTimestamp() < Volatile.Read(ref _redisSkipUntil))
        {
            return null;
        }

        try
        {
            var connection = await _redis.GetAsync().WaitAsync(_redisTimeout);
            if (!connection.IsConnected)
            {
                RedisFailed(null);
                return null;
            }

            var forgetAt = (window + 1) * (long)Window.TotalSeconds + 60;
            var result = await connection.GetDatabase()
                .ScriptEvaluateAsync(IncrementScript, [$"{_keyPrefix}{partition}:{window}"], [forgetAt])
                .WaitAsync(_redisTimeout);
            if (Interlocked.Exchange(ref _redisFailing, 0) == 1)
            {
                LogRedisBack(_logger, _redis.Endpoint);
            }

            return (long)result;
        }
        catch (Exception ex)
        {
            // Whatever went wrong (RedisException, TimeoutException, a command cancelled while reconnecting), the
            // request is counted here: the shared count is an optimisation of the limit, never a reason to fail it.
            RedisFailed(ex);
            return null;
        }
    }

    private void RedisFailed(Exception? exception)
    {
        Volatile.Write(ref _redisSkipUntil, _timeProvider.GetTimestamp() + (long)(RedisRetryAfter.TotalSeconds * _timeProvider.TimestampFrequency));
        if (Interlocked.Exchange(ref _redisFailing, 1) == 0)
        {
            LogRedisFailing(_logger, exception, _redis!.Endpoint);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "API rate limits: Redis at {Endpoint} does not answer; counting requests in this process until it does (the limits are per replica meanwhile)")]
    private static partial void LogRedisFailing(ILogger logger, Exception? exception, string endpoint);

    [LoggerMessage(Level = LogLevel.Information, Message = "API rate limits: Redis at {Endpoint} answers again; the counts are shared by the replicas again")]
    private static partial void LogRedisBack(ILogger logger, string endpoint);

    private sealed class Lease(bool acquired, TimeSpan? retryAfter) : RateLimitLease
    {
        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = metadataName == MetadataName.RetryAfter.Name ? retryAfter : null;
            return metadata is not null;
        }
    }
}
