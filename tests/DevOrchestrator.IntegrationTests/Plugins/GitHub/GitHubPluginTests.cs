using DevOrchestrator.Abstractions.Plugins;
using static DevOrchestrator.IntegrationTests.Plugins.GitHub.GitHubTestHost;

namespace DevOrchestrator.IntegrationTests.Plugins.GitHub;

/// <summary>The GitHub plugin through Octokit over real HTTP against <see cref="FakeVendors.FakeGitHubServer"/>.</summary>
public sealed class GitHubPluginTests
{
    [Fact]
    public async Task Connect_sends_the_token_and_returns_the_login()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var env = await StartAsync(ct);

        var connection = await env.Plugin.ConnectAsync(ct);

        Assert.Equal(env.Server.Login, connection.Identity);
        var request = Assert.Single(env.Server.RequestsTo("GET", "/api/v3/user"));
        Assert.Equal(200, request.StatusCode);
        Assert.Equal("Token " + env.Server.Token, request.Headers["Authorization"]);
        Assert.StartsWith("devorch", request.Headers["User-Agent"], StringComparison.Ordinal);
        Assert.True(env.Plugin.IsConfigured);
    }

    [Fact]
    public async Task Repository_info_comes_from_the_api()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var env = await StartAsync(ct);

        var repository = await env.Plugin.GetRepositoryAsync(env.Server.CloneUrl(Owner, Repo), ct);

        Assert.Equal(new RepositoryInfo(Owner, Repo, $"{Owner}/{Repo}", "main", env.Server.CloneUrl(Owner, Repo), env.Server.WebUrl(Owner, Repo), false), repository);
        Assert.Single(env.Server.RequestsTo("GET", $"/api/v3/repos/{Owner}/{Repo}"));
    }

    [Fact]
    public async Task Ensure_branch_creates_it_from_the_base_branch_then_reuses_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var env = await StartAsync(ct);
        var mainSha = (await env.Server.BranchesAsync(Owner, Repo, ct))["main"];

        var created = await env.Plugin.EnsureBranchAsync(env.RepositoryUrl, "devorch/task-1", "main", ct);
        var again = await env.Plugin.EnsureBranchAsync(env.RepositoryUrl, "devorch/task-1", "main", ct);

        Assert.Equal(new BranchInfo("devorch/task-1", mainSha, Created: true), created);
        Assert.Equal(new BranchInfo("devorch/task-1", mainSha, Created: false), again);
        Assert.Equal(mainSha, (await env.Server.BranchesAsync(Owner, Repo, ct))["devorch/task-1"]);
        var create = Assert.Single(env.Server.RequestsTo("POST", $"/api/v3/repos/{Owner}/{Repo}/git/refs"));
        Assert.Equal(201, create.StatusCode);
        Assert.Equal("refs/heads/devorch/task-1", (string?)create.Json!["ref"]);
        Assert.Equal(mainSha, (string?)create.Json["sha"]);
        Assert.Equal("Token " + env.Server.Token, create.Headers["Authorization"]);
        Assert.Equal(2, env.Server.RequestsTo("GET", $"/api/v3/repos/{Owner}/{Repo}/git/ref/heads/devorch/task-1").Count);
    }

    [Fact]
    public async Task Ensure_branch_from_a_missing_base_branch_fails_as_not_found()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var env = await StartAsync(ct);

        var ex = await Assert.ThrowsAsync<PluginException>(() => env.Plugin.EnsureBranchAsync(env.RepositoryUrl, "feature", "develop", ct));

        Assert.True(ex.IsNotFound);
        Assert.Contains("develop", ex.Message, StringComparison.Ordinal);
        Assert.Empty(env.Server.RequestsTo("POST", $"/api/v3/repos/{Owner}/{Repo}/git/refs"));
    }

    [Fact]
    public async Task Pull_request_is_opened_once_then_updated()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var env = await StartAsync(ct);
        await env.Plugin.EnsureBranchAsync(env.RepositoryUrl, "devorch/task-2", "main", ct);
        await env.Server.CommitFileAsync(Owner, Repo, "devorch/task-2", "change.txt", "a change\n", ct);

        var opened = await env.Plugin.CreateOrUpdatePullRequestAsync(new PullRequestDraft(env.RepositoryUrl, "devorch/task-2", "main", "Add a change", "First body"), ct);
        var updated = await env.Plugin.CreateOrUpdatePullRequestAsync(new PullRequestDraft(env.RepositoryUrl, "devorch/task-2", "main", "Add a change (v2)", "Second body"), ct);

        Assert.True(opened.Created);
        Assert.False(updated.Created);
        Assert.Equal(opened.Number, updated.Number);
        Assert.Equal(("open", "devorch/task-2", "main"), (updated.State, updated.Branch, updated.BaseBranch));
        Assert.Equal("Add a change (v2)", updated.Title);
        Assert.Equal($"{env.RepositoryUrl}/pull/{opened.Number}", opened.Url);
        var pull = Assert.Single(env.Server.PullRequests(Owner, Repo));
        Assert.Equal(("Add a change (v2)", "Second body", 1), (pull.Title, pull.Body, pull.Updates));

        var create = Assert.Single(env.Server.RequestsTo("POST", $"/api/v3/repos/{Owner}/{Repo}/pulls"));
        Assert.Equal(201, create.StatusCode);
        Assert.Equal(("Add a change", "devorch/task-2", "main", "First body"),
            ((string?)create.Json!["title"], (string?)create.Json["head"], (string?)create.Json["base"], (string?)create.Json["body"]));
        var update = Assert.Single(env.Server.RequestsTo("PATCH", $"/api/v3/repos/{Owner}/{Repo}/pulls/{opened.Number}"));
        // Octokit's PATCH does not label its body as JSON (GitHub parses it anyway).
        var patch = System.Text.Json.Nodes.JsonNode.Parse(update.Body)!;
        Assert.Equal(("Add a change (v2)", "Second body"), ((string?)patch["title"], (string?)patch["body"]));
        Assert.Null(patch["base"]);
        Assert.All(env.Server.Requests, r => Assert.Equal("Token " + env.Server.Token, r.Headers["Authorization"]));
    }

    [Fact]
    public async Task Find_pull_request_asks_for_open_ones_with_that_head()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var env = await StartAsync(ct);
        await env.Plugin.EnsureBranchAsync(env.RepositoryUrl, "feature-a", "main", ct);
        await env.Server.CommitFileAsync(Owner, Repo, "feature-a", "a.txt", "a\n", ct);
        var opened = await env.Plugin.CreateOrUpdatePullRequestAsync(new PullRequestDraft(env.RepositoryUrl, "feature-a", "main", "A", "body"), ct);
        env.Server.ClearRequests();

        var found = await env.Plugin.FindPullRequestAsync(env.RepositoryUrl, "feature-a", ct);
        var none = await env.Plugin.FindPullRequestAsync(env.RepositoryUrl, "feature-b", ct);

        Assert.NotNull(found);
        Assert.Equal((opened.Number, false, "feature-a"), (found.Number, found.Created, found.Branch));
        Assert.Null(none);
        var query = env.Server.RequestsTo("GET", $"/api/v3/repos/{Owner}/{Repo}/pulls")[0].Query;
        Assert.Contains("state=open", query, StringComparison.Ordinal);
        Assert.Contains($"head={Owner}%3Afeature-a", query, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Pull_request_without_commits_is_refused_with_GitHub_s_message()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var env = await StartAsync(ct);
        await env.Plugin.EnsureBranchAsync(env.RepositoryUrl, "empty", "main", ct);

        var ex = await Assert.ThrowsAsync<PluginException>(() => env.Plugin.CreateOrUpdatePullRequestAsync(new PullRequestDraft(env.RepositoryUrl, "empty", "main", "T", "B"), ct));

        Assert.Equal(422, ex.StatusCode);
        Assert.Contains("No commits between main and empty", ex.Message, StringComparison.Ordinal);
        Assert.Empty(env.Server.PullRequests(Owner, Repo));
    }

    [Fact]
    public async Task Comment_carries_an_invisible_key_and_is_found_by_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var env = await StartAsync(ct);
        var issue = env.Server.AddIssue(Owner, Repo, "Bug", "It breaks");

        var added = await env.Plugin.AddCommentAsync(env.RepositoryUrl, issue, "Working on it.", "task-7:comment", ct);
        var found = await env.Plugin.FindCommentAsync(env.RepositoryUrl, issue, "task-7:comment", ct);
        var other = await env.Plugin.FindCommentAsync(env.RepositoryUrl, issue, "task-7:comment-2", ct);

        var comment = Assert.Single(env.Server.Comments(Owner, Repo, issue));
        Assert.Equal("Working on it.\n\n<!-- devorch:task-7:comment -->", comment.Body);
        Assert.Equal(env.Server.Login, comment.User);
        Assert.True(added.Created);
        Assert.Equal(comment.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), added.Id);
        Assert.Equal($"{env.RepositoryUrl}/issues/{issue}#issuecomment-{comment.Id}", added.Url);
        Assert.NotNull(found);
        Assert.Equal((added.Id, added.Url, false), (found.Id, found.Url, found.Created));
        Assert.Null(other);
        var post = Assert.Single(env.Server.RequestsTo("POST", $"/api/v3/repos/{Owner}/{Repo}/issues/{issue}/comments"));
        Assert.Equal(comment.Body, (string?)post.Json!["body"]);
    }

    [Fact]
    public async Task Find_comment_follows_the_pages()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var env = await StartAsync(ct);
        var issue = env.Server.AddIssue(Owner, Repo, "Busy issue");
        for (var i = 0; i < 150; i++)
        {
            env.Server.AddComment(Owner, Repo, issue, $"comment {i}");
        }

        await env.Plugin.AddCommentAsync(env.RepositoryUrl, issue, "Done.", "late-key", ct);
        env.Server.ClearRequests();

        var found = await env.Plugin.FindCommentAsync(env.RepositoryUrl, issue, "late-key", ct);

        Assert.NotNull(found);
        var pages = env.Server.RequestsTo("GET", $"/api/v3/repos/{Owner}/{Repo}/issues/{issue}/comments");
        Assert.Equal(2, pages.Count);
        Assert.Contains("per_page=100", pages[0].Query, StringComparison.Ordinal);
        Assert.Contains("page=2", pages[1].Query, StringComparison.Ordinal);
        Assert.Equal("Token " + env.Server.Token, pages[1].Headers["Authorization"]);
    }

    [Fact]
    public async Task Comment_on_a_pull_request_uses_the_issue_comments_api()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var env = await StartAsync(ct);
        await env.Plugin.EnsureBranchAsync(env.RepositoryUrl, "feature-c", "main", ct);
        await env.Server.CommitFileAsync(Owner, Repo, "feature-c", "c.txt", "c\n", ct);
        var pull = await env.Plugin.CreateOrUpdatePullRequestAsync(new PullRequestDraft(env.RepositoryUrl, "feature-c", "main", "C", "body"), ct);

        var added = await env.Plugin.AddCommentAsync(env.RepositoryUrl, pull.Number, "Review done.", "review-1", ct);

        Assert.Equal($"{env.RepositoryUrl}/pull/{pull.Number}#issuecomment-{added.Id}", added.Url);
        Assert.Single(env.Server.Comments(Owner, Repo, pull.Number));
    }

    [Fact]
    public async Task Missing_repository_is_a_not_found_plugin_exception()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var env = await StartAsync(ct);

        var ex = await Assert.ThrowsAsync<PluginException>(() => env.Plugin.GetRepositoryAsync(env.Server.WebUrl(Owner, "nope"), ct));

        Assert.True(ex.IsNotFound);
        Assert.Equal("github", ex.Plugin);
        Assert.Contains("Not Found", ex.Message, StringComparison.Ordinal);
        Assert.Single(env.Server.RequestsTo("GET", $"/api/v3/repos/{Owner}/nope"));
    }

    [Fact]
    public async Task Bad_token_is_a_401_plugin_exception_without_the_token()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var env = await StartAsync(ct);
        const string wrong = "wrong-token-0123456789";
        env.SetSetting("GITHUB_TOKEN", wrong);

        var ex = await Assert.ThrowsAsync<PluginException>(() => env.Plugin.ConnectAsync(ct));

        Assert.Equal(401, ex.StatusCode);
        Assert.Contains("Bad credentials", ex.Message, StringComparison.Ordinal);
        Assert.Contains("GITHUB_TOKEN", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, ex.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(env.Server.Token, ex.ToString(), StringComparison.Ordinal);
        var request = Assert.Single(env.Server.RequestsTo("GET", "/api/v3/user"));
        Assert.Equal(401, request.StatusCode);
        Assert.Equal("Token " + wrong, request.Headers["Authorization"]);
    }

    [Fact]
    public async Task A_changed_token_applies_to_the_next_call()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var env = await StartAsync(ct);
        await env.Plugin.ConnectAsync(ct);

        env.SetSetting("GITHUB_TOKEN", "rotated-token");
        await Assert.ThrowsAsync<PluginException>(() => env.Plugin.ConnectAsync(ct));
        env.SetSetting("GITHUB_TOKEN", env.Server.Token);
        await env.Plugin.ConnectAsync(ct);

        Assert.Equal(new[] { "Token " + env.Server.Token, "Token rotated-token", "Token " + env.Server.Token },
            env.Server.RequestsTo("GET", "/api/v3/user").Select(r => r.Headers["Authorization"]));
    }

    [Fact]
    public async Task Health_reports_the_remaining_rate_limit()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var env = await StartAsync(ct, createRepository: false);
        env.Server.RateLimitRemaining = 1234;

        var health = await env.Plugin.CheckHealthAsync(ct);
        env.Server.RateLimitRemaining = 0;
        var exhausted = await env.Plugin.CheckHealthAsync(ct);

        Assert.True(health.Healthy, health.Message);
        Assert.Equal(1234, health.Details!["rate_limit_remaining"]);
        Assert.Equal(5000, health.Details["rate_limit_limit"]);
        Assert.False(exhausted.Healthy);
        Assert.Contains("exhausted", exhausted.Message, StringComparison.Ordinal);
        Assert.Equal(2, env.Server.RequestsTo("GET", "/api/v3/rate_limit").Count);
    }

    [Fact]
    public async Task Health_of_a_bad_token_is_unhealthy_with_the_reason()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var env = await StartAsync(ct, createRepository: false);
        env.SetSetting("GITHUB_TOKEN", "expired-token");

        var health = await env.Plugin.CheckHealthAsync(ct);

        Assert.False(health.Healthy);
        Assert.Contains("401", health.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("expired-token", health.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unconfigured_plugin_makes_no_call()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var env = await StartAsync(ct, createRepository: false);
        env.SetSetting("GITHUB_TOKEN", "");

        var health = await env.Plugin.CheckHealthAsync(ct);
        var ex = await Assert.ThrowsAsync<PluginException>(() => env.Plugin.ConnectAsync(ct));

        Assert.False(env.Plugin.IsConfigured);
        Assert.False(health.Healthy);
        Assert.Contains("GITHUB_TOKEN", ex.Message, StringComparison.Ordinal);
        Assert.Empty(env.Server.Requests);
    }
}
