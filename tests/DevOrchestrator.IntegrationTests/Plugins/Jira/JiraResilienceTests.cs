using DevOrchestrator.Abstractions.Plugins;
using Polly.CircuitBreaker;

namespace DevOrchestrator.IntegrationTests.Plugins.Jira;

/// <summary>The shared plugin resilience as the Jira plugin's calls meet it: Retry-After, retries, the circuit, telemetry.</summary>
public sealed class JiraResilienceTests
{
    [Fact]
    public async Task A_429_with_Retry_After_is_waited_out_and_retried_within_one_call()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await JiraTestHost.StartAsync(ct);
        host.Server.AddIssue("PROJ", "Rate limited");
        host.Server.Fail(429, count: 1, pathContains: "/rest/api/3/issue/", retryAfter: TimeSpan.FromSeconds(1));

        var issue = await host.Plugin.GetIssueAsync("PROJ-1", ct);

        Assert.Equal("Rate limited", issue.Title);
        var requests = host.Server.RequestsTo("GET", "/rest/api/3/issue/PROJ-1");
        Assert.Equal([429, 200], requests.Select(r => r.StatusCode));
        Assert.All(requests, r => Assert.Equal(host.Server.ExpectedAuthorization, r.Headers["Authorization"]));
        Assert.Equal([("jira", PluginOutcomes.Success)], host.Telemetry.Outcomes);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(504)]
    public async Task A_comment_whose_outcome_is_unknown_is_not_sent_again_by_the_retry(int status)
    {
        // The vendor may have created the comment before answering 5xx: a blind retry would post it twice. The failure
        // goes to the caller (whose effect record stays pending and looks before writing again).
        var ct = TestContext.Current.CancellationToken;
        await using var host = await JiraTestHost.StartAsync(ct, resilience: o => o.RetryAttempts = 3);
        host.Server.AddIssue("PROJ", "Commented");
        host.Server.Fail(status, count: 3, pathContains: "/comment");

        var error = await Assert.ThrowsAsync<PluginException>(() => host.Plugin.AddCommentAsync("PROJ-1", "hello", "key-1", ct));

        Assert.Equal(status, error.StatusCode);
        Assert.Single(host.Server.RequestsTo("POST", "/rest/api/3/issue/PROJ-1/comment"));
    }

    [Fact]
    public async Task A_comment_that_times_out_is_not_sent_again_by_the_retry()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await JiraTestHost.StartAsync(ct, resilience: o =>
        {
            o.RetryAttempts = 3;
            o.AttemptTimeout = TimeSpan.FromMilliseconds(500);
        });
        host.Server.AddIssue("PROJ", "Slow");
        host.Server.Hang(TimeSpan.FromSeconds(30), count: 3, pathContains: "/comment");

        var error = await Assert.ThrowsAsync<PluginException>(() => host.Plugin.AddCommentAsync("PROJ-1", "hello", "key-1", ct));

        Assert.Single(host.Server.RequestsTo("POST", "/rest/api/3/issue/PROJ-1/comment"));
    }

    [Theory]
    [InlineData(429)]
    [InlineData(503)]
    public async Task A_comment_refused_with_429_or_503_was_not_processed_and_is_retried(int status)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await JiraTestHost.StartAsync(ct, resilience: o => o.RetryAttempts = 2);
        host.Server.AddIssue("PROJ", "Busy");
        host.Server.Fail(status, count: 1, pathContains: "/comment");

        await host.Plugin.AddCommentAsync("PROJ-1", "hello", "key-1", ct);

        Assert.Equal([status, 201], host.Server.RequestsTo("POST", "/rest/api/3/issue/PROJ-1/comment").Select(r => r.StatusCode));
        Assert.Single(host.Server.Issue("PROJ-1")!.Comments);
    }

    [Fact]
    public async Task A_search_is_a_repeatable_post_and_is_retried_after_a_server_error()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await JiraTestHost.StartAsync(ct, resilience: o => o.RetryAttempts = 2);
        host.Server.AddIssue("PROJ", "Found", labels: ["ai-dev"]);
        host.Server.Fail(500, count: 1, pathContains: "/search/jql");

        var page = await host.Plugin.SearchAsync("project = PROJ", null, 50, ct);

        Assert.Single(page.Issues);
        Assert.Equal([500, 200], host.Server.RequestsTo("POST", "/rest/api/3/search/jql").Select(r => r.StatusCode));
    }

    [Fact]
    public async Task Server_errors_are_retried_up_to_the_retry_attempts_then_become_a_plugin_error()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await JiraTestHost.StartAsync(ct, resilience: o => o.RetryAttempts = 2);
        host.Server.AddIssue("PROJ", "Flaky");
        host.Server.Fail(500, count: 3);

        var error = await Assert.ThrowsAsync<PluginException>(() => host.Plugin.GetIssueAsync("PROJ-1", ct));

        Assert.Equal(500, error.StatusCode);
        Assert.Contains("injected failure 500", error.Message, StringComparison.Ordinal);
        Assert.Equal([500, 500, 500], host.Server.Requests.Select(r => r.StatusCode));
        Assert.Equal([("jira", PluginOutcomes.ServerError)], host.Telemetry.Outcomes);

        // The next call goes through (the failures were used up, and 3 < the threshold of 5).
        Assert.Equal("Flaky", (await host.Plugin.GetIssueAsync("PROJ-1", ct)).Title);
    }

    [Fact]
    public async Task The_circuit_opens_after_consecutive_failures_fails_fast_then_half_opens_and_closes_after_two_successes()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = JiraClock.Start();
        await using var host = await JiraTestHost.StartAsync(ct, timeProvider: time, resilience: o =>
        {
            o.RetryAttempts = 0;
            o.CircuitBreakerThreshold = 3;
            o.BreakDuration = TimeSpan.FromSeconds(30);
        });
        host.Server.AddIssue("PROJ", "Behind a breaker");
        host.Server.Fail(500, count: 3);

        for (var i = 0; i < 3; i++)
        {
            var failure = await Assert.ThrowsAsync<PluginException>(() => host.Plugin.GetIssueAsync("PROJ-1", ct));
            Assert.Equal(500, failure.StatusCode);
        }

        Assert.Equal(PluginCircuitState.Open, host.Breaker.State);
        var refused = await Assert.ThrowsAsync<PluginException>(() => host.Plugin.GetIssueAsync("PROJ-1", ct));
        Assert.IsType<BrokenCircuitException>(refused.InnerException);
        Assert.Null(refused.StatusCode);
        Assert.Contains("circuit", refused.Message, StringComparison.Ordinal);
        Assert.Equal(3, host.Server.Requests.Count); // failed fast: nothing reached Jira

        time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(PluginCircuitState.HalfOpen, host.Breaker.State);
        Assert.Equal("Behind a breaker", (await host.Plugin.GetIssueAsync("PROJ-1", ct)).Title);
        Assert.Equal(PluginCircuitState.HalfOpen, host.Breaker.State);
        Assert.Equal("Behind a breaker", (await host.Plugin.GetIssueAsync("PROJ-1", ct)).Title);
        Assert.Equal(PluginCircuitState.Closed, host.Breaker.State);

        Assert.Equal(5, host.Server.Requests.Count);
        Assert.Equal(
            [PluginCircuitState.Open, PluginCircuitState.HalfOpen, PluginCircuitState.Closed],
            host.Telemetry.CircuitChanges.Where(c => c.Plugin == "jira").Select(c => c.State));
    }

    [Fact]
    public async Task Telemetry_sees_success_server_error_and_circuit_open_under_the_plugins_name()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await JiraTestHost.StartAsync(ct, timeProvider: JiraClock.Start(), resilience: o =>
        {
            o.RetryAttempts = 0;
            o.CircuitBreakerThreshold = 1;
        });
        host.Server.AddIssue("PROJ", "Counted");

        await host.Plugin.GetIssueAsync("PROJ-1", ct);
        host.Server.Fail(500);
        await Assert.ThrowsAsync<PluginException>(() => host.Plugin.GetIssueAsync("PROJ-1", ct));
        await Assert.ThrowsAsync<PluginException>(() => host.Plugin.GetIssueAsync("PROJ-1", ct));

        Assert.Equal(
            [("jira", PluginOutcomes.Success), ("jira", PluginOutcomes.ServerError), ("jira", PluginOutcomes.CircuitOpen)],
            host.Telemetry.Outcomes);
        Assert.Equal(2, host.Server.Requests.Count);
    }
}
