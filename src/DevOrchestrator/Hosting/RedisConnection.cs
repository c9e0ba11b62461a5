namespace DevOrchestrator.Hosting;

/// <summary>
/// The process's Redis connection, opened on first use with <c>ConnectAsync</c>: the synchronous <c>Connect</c> would
/// block the thread that first asks (a /health request) for up to its connect time-out when Redis is down.
/// </summary>
public sealed class RedisConnection(string url, string keyPrefix) : IAsyncDisposable
{
    /// <summary>What every key of this service starts with (<c>REDIS_KEY_PREFIX</c>), so that several deployments can share one Redis.</summary>
    public string KeyPrefix { get; } = keyPrefix;

    private readonly Lazy<Task<StackExchange.Redis.ConnectionMultiplexer>> _connection =
        new(() => StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(RedisUrls.ToConfiguration(url)));

    public Task<StackExchange.Redis.ConnectionMultiplexer> GetAsync() => _connection.Value;

    /// <summary>host:port of REDIS_URL, for messages (never the password).</summary>
    public string Endpoint { get; } = RedisUrls.ToConfiguration(url).EndPoints[0] switch
    {
        System.Net.DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        var other => other.ToString() ?? "?",
    };

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated)
        {
            (await _connection.Value).Dispose();
        }
    }
}
