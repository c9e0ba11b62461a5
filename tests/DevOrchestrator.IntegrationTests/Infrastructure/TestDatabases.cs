using DevOrchestrator.Hosting;
using Npgsql;

namespace DevOrchestrator.IntegrationTests.Infrastructure;

public enum Db
{
    Sqlite,
    Postgres,
}

/// <summary>
/// The real PostgreSQL the tests use: <c>DEVORCH_TEST_POSTGRES</c> (an admin URL; default
/// postgresql://postgres:postgres@127.0.0.1:5432/postgres). Each test gets a fresh database. When no server answers,
/// PostgreSQL tests are skipped on a developer machine and fail in CI (CI=true), so CI never silently skips them.
/// </summary>
public static class TestDatabases
{
    private static readonly Lazy<Task<string?>> s_unavailableReason = new(ProbeAsync);

    public static string AdminUrl =>
        Environment.GetEnvironmentVariable("DEVORCH_TEST_POSTGRES") is { Length: > 0 } url ? url : "postgresql://postgres:postgres@127.0.0.1:5432/postgres";

    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Creates an empty database and returns its postgresql:// URL.</summary>
    public static async Task<string> CreatePostgresDatabaseAsync(CancellationToken cancellationToken)
    {
        var reason = await s_unavailableReason.Value;
        if (reason is not null)
        {
            if (InCi)
            {
                Assert.Fail($"PostgreSQL is required in CI but unavailable: {reason}");
            }

            Assert.Skip($"PostgreSQL unavailable ({reason}); set DEVORCH_TEST_POSTGRES or run .ci/run");
        }

        var name = "devorch_test_" + Guid.NewGuid().ToString("N")[..12];
        await using (var connection = new NpgsqlConnection(DatabaseUrls.ToNpgsqlConnectionString(AdminUrl)))
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        var uri = new UriBuilder(AdminUrl) { Path = "/" + name };
        return uri.Uri.ToString();
    }

    private static readonly Lazy<Task<string?>> s_redisUnavailableReason = new(ProbeRedisAsync);

    /// <summary>The real Redis the tests use: <c>DEVORCH_TEST_REDIS</c> (default redis://127.0.0.1:6379/0), skipped or failed like PostgreSQL.</summary>
    public static async Task<string> RequireRedisAsync()
    {
        var reason = await s_redisUnavailableReason.Value;
        if (reason is not null)
        {
            if (InCi)
            {
                Assert.Fail($"Redis is required in CI but unavailable: {reason}");
            }

            Assert.Skip($"Redis unavailable ({reason}); set DEVORCH_TEST_REDIS or run .ci/run");
        }

        return RedisUrl;
    }

    public static string RedisUrl =>
        Environment.GetEnvironmentVariable("DEVORCH_TEST_REDIS") is { Length: > 0 } url ? url : "redis://127.0.0.1:6379/0";

    private static async Task<string?> ProbeRedisAsync()
    {
        try
        {
            var options = RedisUrls.ToConfiguration(RedisUrl);
            options.AbortOnConnectFail = true;
            options.ConnectTimeout = 3000;
            await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(options);
            await redis.GetDatabase().PingAsync();
            return null;
        }
        catch (Exception ex)
        {
            return ex.Message;
        }
    }

    /// <summary>Drops a test database, closing whatever connections are left (pools of hosts that have stopped).</summary>
    public static async Task DropPostgresDatabaseAsync(string url)
    {
        var name = new Uri(url).AbsolutePath.Trim('/');
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(DatabaseUrls.ToNpgsqlConnectionString(AdminUrl));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<string?> ProbeAsync()
    {
        // A server that is starting (or briefly out of connections) gets a few seconds before the verdict.
        string? reason = null;
        for (var attempt = 0; attempt < 10; attempt++)
        {
            try
            {
                await using var connection = new NpgsqlConnection(DatabaseUrls.ToNpgsqlConnectionString(AdminUrl) + ";Timeout=3");
                await connection.OpenAsync();
                return null;
            }
            catch (Exception ex)
            {
                reason = ex.Message;
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
        }

        return reason;
    }
}
