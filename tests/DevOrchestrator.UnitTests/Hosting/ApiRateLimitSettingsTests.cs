using DevOrchestrator.Hosting;
using Microsoft.Extensions.Configuration;

namespace DevOrchestrator.UnitTests.Hosting;

/// <summary>The inbound API limits' settings: the guide's defaults, the switches, and validation naming the variable.</summary>
public sealed class ApiRateLimitSettingsTests
{
    private static DevOrchestratorOptions Read(params (string Key, string Value)[] values) =>
        DevOrchestratorOptions.Read(new ConfigurationBuilder().AddInMemoryCollection(values.ToDictionary(v => v.Key, v => (string?)v.Value)).Build());

    [Fact]
    public void Defaults_are_the_guides_numbers()
    {
        var limits = Read().ApiRateLimits;

        Assert.True(limits.Enabled);
        Assert.Equal(1000, limits.PerUserPerHour);
        Assert.Equal(100, limits.AnonymousPerHour);
        Assert.Equal(50, limits.MaxActiveAgentTasksPerUser);
    }

    [Fact]
    public void The_limits_can_be_turned_off_and_raised()
    {
        var limits = Read(("API_RATE_LIMIT_ENABLED", "false"), ("API_RATE_LIMIT_PER_HOUR", "5000"), ("API_RATE_LIMIT_ANONYMOUS_PER_HOUR", "7"),
            ("API_MAX_ACTIVE_AGENT_TASKS_PER_USER", "0")).ApiRateLimits;

        Assert.False(limits.Enabled);
        Assert.Equal(5000, limits.PerUserPerHour);
        Assert.Equal(7, limits.AnonymousPerHour);
        Assert.Equal(0, limits.MaxActiveAgentTasksPerUser);
    }

    [Theory]
    [InlineData("API_RATE_LIMIT_PER_HOUR", "0")]
    [InlineData("API_RATE_LIMIT_ANONYMOUS_PER_HOUR", "-1")]
    [InlineData("API_MAX_ACTIVE_AGENT_TASKS_PER_USER", "-1")]
    [InlineData("API_RATE_LIMIT_REDIS_TIMEOUT_MS", "5")]
    public void Out_of_range_values_are_refused_by_name(string setting, string value) =>
        Assert.StartsWith(setting + " must", Assert.Single(Assert.Throws<SettingsException>(() => Read((setting, value))).Errors), StringComparison.Ordinal);

    [Fact]
    public void A_value_that_is_not_a_number_is_refused_by_name() =>
        Assert.Contains("API_RATE_LIMIT_PER_HOUR", Assert.Single(Assert.Throws<SettingsException>(() => Read(("API_RATE_LIMIT_PER_HOUR", "lots"))).Errors), StringComparison.Ordinal);

    [Theory]
    [InlineData("/api/v1/tasks", true)]
    [InlineData("/api/v1/auth/login", true)]
    [InlineData("/API/v1/projects/3", true)]
    [InlineData("/api/v1/health", false)]
    [InlineData("/health", false)]
    [InlineData("/health/ready", false)]
    [InlineData("/metrics", false)]
    [InlineData("/webhooks/github", false)]
    [InlineData("/docs", false)]
    [InlineData("/openapi/v1.json", false)]
    [InlineData("/apiary", false)]
    public void Only_the_api_routes_are_limited(string path, bool limited) =>
        Assert.Equal(limited, ApiRateLimiter.IsLimited(path));

    [Fact]
    public void Local_counts_are_per_partition_and_start_again_in_a_new_window()
    {
        var windows = new ApiRateLimitWindows();

        Assert.Equal(1, windows.Increment("user:1", 10));
        Assert.Equal(2, windows.Increment("user:1", 10));
        Assert.Equal(1, windows.Increment("ip:127.0.0.1", 10));
        Assert.Equal(1, windows.Increment("user:1", 11));
        Assert.Equal(2, windows.Increment("user:1", 11));
    }

    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7")]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::/64")]
    [InlineData("::1", "::1")]
    public void A_client_without_a_token_is_counted_by_its_ipv4_address_or_ipv6_network(string address, string partition) =>
        Assert.Equal(partition, ApiRateLimiter.ClientNetwork(System.Net.IPAddress.Parse(address)));
}
