using System.Globalization;
using System.Net;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Hosting;
using DevOrchestrator.IntegrationTests.Infrastructure;
using DevOrchestrator.IntegrationTests.Integrations;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.IntegrationTests.Api;

/// <summary>
/// The inbound API limits on real hosts: per-user and per-IP request windows with their headers and 429 envelope, the
/// routes they leave alone, the switch that turns them off, Redis that does not answer, the per-user active agent task
/// limit, and two API processes sharing one PostgreSQL and one Redis (the count is exact across them).
/// </summary>
public sealed class ApiRateLimitTests
{
    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task A_user_sees_the_limit_headers_then_a_429_envelope_with_retry_after_and_other_users_are_not_affected(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, settings: Limits(perUser: 5, anonymous: 1000), cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Operator, ct);
        using var other = await service.ClientForNewUserAsync(Roles.Viewer, ct);
        await AwayFromTheEndOfTheWindowAsync(ct);

        for (var i = 1; i <= 5; i++)
        {
            var response = await client.GetAsync("/api/v1/tasks", ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var (limit, remaining, reset) = RateLimitHeaders(response);
            Assert.Equal(5, limit);
            Assert.Equal(5 - i, remaining);
            AssertIsTheEndOfThisHour(reset);
        }

        var refused = await client.GetAsync("/api/v1/tasks", ct);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal((5, 0), (RateLimitHeaders(refused).Limit, RateLimitHeaders(refused).Remaining));
        var retryAfter = (long)refused.Headers.RetryAfter!.Delta!.Value.TotalSeconds;
        Assert.InRange(retryAfter, 1, 3600);
        Assert.Equal(RateLimitHeaders(refused).Reset, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + retryAfter, tolerance: 5);
        var body = await refused.ReadJsonAsync();
        Assert.False((bool)body["success"]!);
        Assert.Equal("RATE_LIMITED", (string?)body["error"]!["code"]);
        Assert.Contains("API_RATE_LIMIT_PER_HOUR", (string?)body["error"]!["message"], StringComparison.Ordinal);
        Assert.NotNull(body["request_id"]);

        // A write is refused the same way, and stores nothing.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await client.PostJsonAsync("/api/v1/tasks", new { title = "over the limit" })).StatusCode);
        Assert.Equal(0, await service.WithDbAsync(d => d.Tasks.CountAsync(ct)));

        // Another user has a window of their own.
        var others = await other.GetAsync("/api/v1/tasks", ct);
        Assert.Equal(HttpStatusCode.OK, others.StatusCode);
        Assert.Equal((5, 4), (RateLimitHeaders(others).Limit, RateLimitHeaders(others).Remaining));

        // Health, metrics, the API's documents and webhooks are not counted: answered (not 429) and without the headers.
        foreach (var path in new[] { "/health", "/health/live", "/health/ready", "/api/v1/health", "/metrics", "/openapi/v1.json", "/openapi.json", "/docs" })
        {
            var exempt = await client.GetAsync(path, ct);
            Assert.NotEqual(HttpStatusCode.TooManyRequests, exempt.StatusCode);
            Assert.False(exempt.Headers.Contains(ApiRateLimiter.LimitHeader), $"{path} has {ApiRateLimiter.LimitHeader}");
        }

        var webhook = await client.PostJsonAsync("/webhooks/github", new { zen = "unsigned" });
        Assert.NotEqual(HttpStatusCode.TooManyRequests, webhook.StatusCode);
        Assert.False(webhook.Headers.Contains(ApiRateLimiter.LimitHeader));
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Clients_without_a_token_are_limited_per_ip_apart_from_the_users_on_that_ip(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, settings: Limits(perUser: 1000, anonymous: 3), cancellationToken: ct);
        using var user = await service.ClientForNewUserAsync(Roles.Viewer, ct);
        using var anonymous = new HttpClient { BaseAddress = service.Address };
        await AwayFromTheEndOfTheWindowAsync(ct);

        for (var i = 1; i <= 3; i++)
        {
            var response = await anonymous.GetAsync("/api/v1/tasks", ct);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal((3, 3 - i), (RateLimitHeaders(response).Limit, RateLimitHeaders(response).Remaining));
        }

        var refused = await anonymous.GetAsync("/api/v1/tasks", ct);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Contains("API_RATE_LIMIT_ANONYMOUS_PER_HOUR", (string?)(await refused.ReadJsonAsync())["error"]!["message"], StringComparison.Ordinal);
        Assert.NotNull(refused.Headers.RetryAfter);

        // Logging in is a request without a token: the same IP's window, so password guessing stops here too.
        var login = await anonymous.PostJsonAsync("/api/v1/auth/login", new { email = "nobody@example.com", password = "guess-number-four" });
        Assert.Equal(HttpStatusCode.TooManyRequests, login.StatusCode);

        // A bad token counts as no token.
        using var badToken = new HttpClient { BaseAddress = service.Address };
        badToken.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "not-a-jwt");
        Assert.Equal(HttpStatusCode.TooManyRequests, (await badToken.GetAsync("/api/v1/tasks", ct)).StatusCode);

        // A user on the same IP (127.0.0.1) is counted as the user.
        var mine = await user.GetAsync("/api/v1/tasks", ct);
        Assert.Equal(HttpStatusCode.OK, mine.StatusCode);
        Assert.Equal((1000, 999), (RateLimitHeaders(mine).Limit, RateLimitHeaders(mine).Remaining));
    }

    [Fact]
    public async Task Api_rate_limit_enabled_false_turns_the_request_limits_off()
    {
        var ct = TestContext.Current.CancellationToken;
        var settings = Limits(perUser: 1, anonymous: 1);
        settings["API_RATE_LIMIT_ENABLED"] = "false";
        await using var service = await ServiceUnderTest.StartAsync(Db.Sqlite, settings: settings, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Viewer, ct);
        using var anonymous = new HttpClient { BaseAddress = service.Address };

        for (var i = 0; i < 5; i++)
        {
            var response = await client.GetAsync("/api/v1/tasks", ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.False(response.Headers.Contains(ApiRateLimiter.LimitHeader));
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/tasks", ct)).StatusCode);
        }
    }

    [Fact]
    public async Task Redis_that_does_not_answer_leaves_the_limits_in_the_process_without_a_5xx()
    {
        var ct = TestContext.Current.CancellationToken;
        var settings = Limits(perUser: 4, anonymous: 1000);
        settings["REDIS_URL"] = "redis://127.0.0.1:1";
        await using var service = await ServiceUnderTest.StartAsync(Db.Sqlite, settings: settings, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Viewer, ct);
        await AwayFromTheEndOfTheWindowAsync(ct);

        for (var i = 1; i <= 4; i++)
        {
            var response = await client.GetAsync("/api/v1/tasks", ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal((4, 4 - i), (RateLimitHeaders(response).Limit, RateLimitHeaders(response).Remaining));
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, (await client.GetAsync("/api/v1/tasks", ct)).StatusCode);
    }

    [Fact]
    public async Task A_serve_process_whose_redis_does_not_answer_logs_one_warning_and_keeps_limiting_in_process()
    {
        var ct = TestContext.Current.CancellationToken;
        var root = Directory.CreateTempSubdirectory("devorch-ratelimit-").FullName;
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var environment = new Dictionary<string, string?>(Limits(perUser: 1000, anonymous: 3))
        {
            ["ENVIRONMENT"] = "test",
            ["LOG_LEVEL"] = "warning",
            ["DATA_DIR"] = Path.Combine(root, "data"),
            ["WORKSPACES_DIR"] = Path.Combine(root, "workspaces"),
            ["WORKFLOWS_DIR"] = Path.Combine(root, "workflows"),
            ["JWT_SECRET_KEY"] = "test-secret-" + Guid.NewGuid().ToString("N"),
            ["REDIS_URL"] = "redis://127.0.0.1:1",
        };
        var start = DevorchProcess.StartInfo(["serve", "--urls", $"http://127.0.0.1:{port}"], environment, root);
        await using var process = new ServiceProcess(System.Diagnostics.Process.Start(start)!, new Uri($"http://127.0.0.1:{port}"));
        try
        {
            using var client = new HttpClient { BaseAddress = process.Address };
            await HttpJson.EventuallyAsync(async () =>
            {
                try
                {
                    return (await client.GetAsync("/health/live", ct)).IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, ready => ready || process.Process.HasExited, TimeSpan.FromSeconds(60));
            await AwayFromTheEndOfTheWindowAsync(ct);

            var statuses = new List<int>();
            for (var i = 0; i < 8; i++)
            {
                statuses.Add((int)(await client.GetAsync("/api/v1/tasks", ct)).StatusCode);
            }

            Assert.Equal([401, 401, 401, 429, 429, 429, 429, 429], statuses);
            await HttpJson.EventuallyAsync(() => Task.FromResult(process.Output), o => o.Contains("does not answer", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
            Assert.Equal(1, process.Output.Split("\"Name\":\"LogRedisFailing\"").Length - 1);
            Assert.DoesNotContain("\"level\":\"ERROR\"", process.Output, StringComparison.Ordinal);
        }
        finally
        {
            await process.KillAsync();
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task A_user_may_have_at_most_the_configured_number_of_queued_or_running_tasks_on_postgresql()
    {
        var ct = TestContext.Current.CancellationToken;
        var settings = new Dictionary<string, string?> { ["API_MAX_ACTIVE_AGENT_TASKS_PER_USER"] = "3" };
        // The API role runs no workers: queued tasks stay queued.
        await using var service = await ServiceUnderTest.StartAsync(Db.Postgres, ServiceRole.Api, settings: settings, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Operator, ct);
        using var other = await service.ClientForNewUserAsync(Roles.Operator, ct);

        // Ten at once: the per-user lock makes exactly three of them fit.
        var creates = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => client.PostJsonAsync("/api/v1/tasks", new { title = $"task {i}", auto_start = true })));
        Assert.Equal(3, creates.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.Equal(7, creates.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests));
        var refusal = await creates.First(r => r.StatusCode == HttpStatusCode.TooManyRequests).ReadJsonAsync();
        Assert.Equal("RATE_LIMITED", (string?)refusal["error"]!["code"]);
        Assert.Contains("API_MAX_ACTIVE_AGENT_TASKS_PER_USER", (string?)refusal["error"]!["message"], StringComparison.Ordinal);
        Assert.Contains("at most 3", (string?)refusal["error"]!["message"], StringComparison.Ordinal);
        Assert.NotNull(creates.First(r => r.StatusCode == HttpStatusCode.TooManyRequests).Headers.RetryAfter);
        Assert.Equal(3, await service.WithDbAsync(d => d.Tasks.CountAsync(ct)));

        // A task that is not queued does not count and may be created; queueing it is refused, by either route.
        var pending = await client.PostJsonAsync("/api/v1/tasks", new { title = "later" });
        Assert.Equal(HttpStatusCode.Created, pending.StatusCode);
        var pendingId = (long)(await pending.ReadJsonAsync())["data"]!["id"]!;
        Assert.Equal(HttpStatusCode.TooManyRequests, (await client.PostJsonAsync($"/api/v1/tasks/{pendingId}/assign-to-agent", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await client.PostJsonAsync("/api/v1/workflows/execute", new { task_id = pendingId, workflow = "standard_dev_workflow" })).StatusCode);
        Assert.Equal(TaskStatuses.Pending, await service.WithDbAsync(d => d.Tasks.Where(t => t.Id == pendingId).Select(t => t.Status).SingleAsync(ct)));

        // Another user has room of their own.
        Assert.Equal(HttpStatusCode.Created, (await other.PostJsonAsync("/api/v1/tasks", new { title = "theirs", auto_start = true })).StatusCode);

        // A cancelled task frees its place.
        var firstId = (long)(await creates.First(r => r.StatusCode == HttpStatusCode.Created).ReadJsonAsync())["data"]!["id"]!;
        Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync($"/api/v1/tasks/{firstId}/cancel", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostJsonAsync($"/api/v1/tasks/{pendingId}/assign-to-agent", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await client.PostJsonAsync("/api/v1/tasks", new { title = "one too many", auto_start = true })).StatusCode);
    }

    [Fact]
    public async Task Two_api_processes_on_one_redis_accept_exactly_the_limit_between_them()
    {
        var ct = TestContext.Current.CancellationToken;
        var redis = await TestDatabases.RequireRedisAsync();
        await using var harness = await IntegrationsHarness.StartAsync(Db.Postgres, ct);
        var environment = new Dictionary<string, string?>(Limits(perUser: 20, anonymous: 1000))
        {
            ["REDIS_URL"] = redis,
            ["REDIS_KEY_PREFIX"] = "devorch-test-" + Guid.NewGuid().ToString("N")[..12] + ":",
            // What is tested is the count shared through Redis: on a loaded CI machine a second's wait for Redis could
            // run out and count a request in the process instead (the fallback, tested above), so Redis gets 10 s.
            ["API_RATE_LIMIT_REDIS_TIMEOUT_MS"] = "10000",
        };
        await using var api1 = await harness.StartProcessAsync(ServiceRole.Api, ct, environment);
        await using var api2 = await harness.StartProcessAsync(ServiceRole.Api, ct, environment);
        using var user = await harness.Service.ClientForNewUserAsync(Roles.Viewer, ct);
        using var client1 = api1.ClientLike(user);
        using var client2 = api2.ClientLike(user);
        await RedisConnectedAsync(client1, ct);
        await RedisConnectedAsync(client2, ct);
        await AwayFromTheEndOfTheWindowAsync(ct);

        // 30 requests at once, 15 to each replica: exactly 20 are accepted, whichever replica they reached.
        var responses = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => (i % 2 == 0 ? client1 : client2).GetAsync("/api/v1/auth/me", ct)));
        var statuses = responses.Select(r => (int)r.StatusCode).ToList();
        Assert.True(statuses.Count(s => s == 200) == 20 && statuses.Count(s => s == 429) == 10,
            $"statuses: {string.Join(",", statuses)}\napi1: {api1.Output}\napi2: {api2.Output}");
        Assert.Equal(Enumerable.Range(0, 20).Reverse().Select(n => (long)n), responses.Where(r => r.IsSuccessStatusCode).Select(r => RateLimitHeaders(r).Remaining).Order().Reverse());
        Assert.Single(responses.Select(r => RateLimitHeaders(r).Reset).Distinct());

        // And the 31st and 32nd, one per replica, sequentially.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await client1.GetAsync("/api/v1/auth/me", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await client2.GetAsync("/api/v1/auth/me", ct)).StatusCode);
        Assert.DoesNotContain("does not answer", api1.Output + api2.Output, StringComparison.Ordinal);

        // The count lives in Redis, under the installation's prefix.
        await using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(RedisUrls.ToConfiguration(redis));
        var window = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 3600;
        var userId = await harness.Service.WithDbAsync(d => d.Users.Where(u => u.Role == Roles.Viewer).Select(u => u.Id).SingleAsync(ct));
        Assert.Equal(32, (long)await connection.GetDatabase().StringGetAsync($"{environment["REDIS_KEY_PREFIX"]}ratelimit:user:{userId}:{window}"));
    }

    [Fact]
    public async Task Sequential_requests_over_two_api_processes_on_one_redis_get_429_at_exactly_the_limit_plus_one()
    {
        var ct = TestContext.Current.CancellationToken;
        var redis = await TestDatabases.RequireRedisAsync();
        await using var harness = await IntegrationsHarness.StartAsync(Db.Postgres, ct);
        var environment = new Dictionary<string, string?>(Limits(perUser: 1000, anonymous: 7))
        {
            ["REDIS_URL"] = redis,
            ["REDIS_KEY_PREFIX"] = "devorch-test-" + Guid.NewGuid().ToString("N")[..12] + ":",
            ["API_RATE_LIMIT_REDIS_TIMEOUT_MS"] = "10000",
        };
        await using var api1 = await harness.StartProcessAsync(ServiceRole.Api, ct, environment);
        await using var api2 = await harness.StartProcessAsync(ServiceRole.Api, ct, environment);
        using var client1 = new HttpClient { BaseAddress = api1.Address };
        using var client2 = new HttpClient { BaseAddress = api2.Address };
        await RedisConnectedAsync(client1, ct);
        await RedisConnectedAsync(client2, ct);
        await AwayFromTheEndOfTheWindowAsync(ct);

        // Without a token, per IP: alternate replicas; the 8th request is the first refused.
        for (var i = 1; i <= 7; i++)
        {
            var response = await (i % 2 == 0 ? client2 : client1).GetAsync("/api/v1/tasks", ct);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal(7 - i, RateLimitHeaders(response).Remaining);
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, (await client2.GetAsync("/api/v1/tasks", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await client1.GetAsync("/api/v1/tasks", ct)).StatusCode);
    }

    /// <summary>Waits until the replica's Redis connection (the one its limiter uses) is up, as its /health reports it.</summary>
    private static async Task RedisConnectedAsync(HttpClient client, CancellationToken cancellationToken) =>
        await HttpJson.EventuallyAsync(
            async () => (string?)(await (await client.GetAsync("/health", cancellationToken)).ReadJsonAsync())["services"]?["redis"]?["status"],
            status => status == "healthy", TimeSpan.FromSeconds(60));

    private static Dictionary<string, string?> Limits(int perUser, int anonymous) => new()
    {
        ["API_RATE_LIMIT_PER_HOUR"] = perUser.ToString(CultureInfo.InvariantCulture),
        ["API_RATE_LIMIT_ANONYMOUS_PER_HOUR"] = anonymous.ToString(CultureInfo.InvariantCulture),
    };

    private static (long Limit, long Remaining, long Reset) RateLimitHeaders(HttpResponseMessage response) =>
        (long.Parse(response.Headers.GetValues(ApiRateLimiter.LimitHeader).Single(), CultureInfo.InvariantCulture),
         long.Parse(response.Headers.GetValues(ApiRateLimiter.RemainingHeader).Single(), CultureInfo.InvariantCulture),
         long.Parse(response.Headers.GetValues(ApiRateLimiter.ResetHeader).Single(), CultureInfo.InvariantCulture));

    private static void AssertIsTheEndOfThisHour(long reset)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.Equal(0, reset % 3600);
        Assert.InRange(reset, now + 1, now + 3600);
    }

    /// <summary>
    /// The windows are the clock's hours: a burst that straddled one would see its count start again. Within the last
    /// minute of an hour, waits for the next one (a test's burst takes seconds).
    /// </summary>
    private static async Task AwayFromTheEndOfTheWindowAsync(CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var untilNextHour = TimeSpan.FromSeconds(3600 - now.ToUnixTimeSeconds() % 3600);
        if (untilNextHour < TimeSpan.FromMinutes(1))
        {
            await Task.Delay(untilNextHour + TimeSpan.FromSeconds(1), cancellationToken);
        }
    }
}
