using System.Text;
using static DevOrchestrator.IntegrationTests.Plugins.GitHub.GitHubTestHost;

namespace DevOrchestrator.IntegrationTests.Plugins.GitHub;

/// <summary>
/// Real git clone and push through the fake's smart HTTP (git http-backend), authenticated only by the plugin's
/// <see cref="DevOrchestrator.Plugins.GitHub.GitHubPlugin.GitConfigFor"/> pairs passed as GIT_CONFIG_* environment
/// variables of each command — the way the host runs git.
/// </summary>
public sealed class GitHubGitTransportTests
{
    [Fact]
    public async Task Clone_and_push_work_with_the_per_command_config_and_leave_no_token_behind()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var env = await StartAsync(ct);
        var cloneUrl = env.Server.CloneUrl(Owner, Repo);
        var config = env.Plugin.GitConfigFor(cloneUrl);
        var work = Path.Combine(env.Root, "work");

        (await GitAsync(env.Root, config, ct, "clone", cloneUrl, work)).Check();
        Assert.Equal($"# {Repo}\n", await File.ReadAllTextAsync(Path.Combine(work, "README.md"), ct));
        await File.WriteAllTextAsync(Path.Combine(work, "feature.txt"), "new feature\n", ct);
        (await GitAsync(work, [], ct, "add", "-A")).Check();
        (await GitAsync(work, [], ct, "commit", "-m", "Add a feature")).Check();
        var head = (await GitAsync(work, [], ct, "rev-parse", "HEAD")).Check();
        (await GitAsync(work, config, ct, "push", "origin", "HEAD:refs/heads/devorch/task-9")).Check();

        // The bare repository got the branch, and the REST API sees it.
        Assert.Equal(head, (await env.Server.BranchesAsync(Owner, Repo, ct))["devorch/task-9"]);
        Assert.Equal(new Abstractions.Plugins.BranchInfo("devorch/task-9", head, Created: false),
            await env.Plugin.EnsureBranchAsync(env.RepositoryUrl, "devorch/task-9", "main", ct));
        var pull = await env.Plugin.CreateOrUpdatePullRequestAsync(new Abstractions.Plugins.PullRequestDraft(env.RepositoryUrl, "devorch/task-9", "main", "Feature", "Adds a feature"), ct);
        Assert.True(pull.Created);

        // Every git request carried the header; the token was in no URL.
        var basic = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("x-access-token:" + env.Server.Token));
        var gitRequests = env.Server.Requests.Where(r => r.Path.StartsWith($"/{Owner}/{Repo}.git/", StringComparison.Ordinal)).ToList();
        Assert.Contains(gitRequests, r => r.Path.EndsWith("/git-upload-pack", StringComparison.Ordinal) && r.Method == "POST");
        Assert.Contains(gitRequests, r => r.Path.EndsWith("/git-receive-pack", StringComparison.Ordinal) && r.Method == "POST");
        Assert.All(gitRequests, r => Assert.Equal((basic, 200), (r.Headers["Authorization"], r.StatusCode)));
        Assert.All(env.Server.Requests, r => Assert.DoesNotContain(env.Server.Token, r.Path + r.Query, StringComparison.Ordinal));

        // Nothing in the clone's git directory holds the token or the header.
        foreach (var file in Directory.EnumerateFiles(Path.Combine(work, ".git"), "*", SearchOption.AllDirectories))
        {
            var bytes = await File.ReadAllBytesAsync(file, ct);
            Assert.False(Contains(bytes, env.Server.Token) || Contains(bytes, basic["Basic ".Length..]), $"{file} holds the credential");
        }

        Assert.DoesNotContain("extraheader", (await File.ReadAllTextAsync(Path.Combine(work, ".git", "config"), ct)).ToLowerInvariant(), StringComparison.Ordinal);
        Assert.Equal(cloneUrl, (await GitAsync(work, [], ct, "remote", "get-url", "origin")).Check());
    }

    [Fact]
    public async Task Push_without_the_config_is_refused()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var env = await StartAsync(ct);
        var cloneUrl = env.Server.CloneUrl(Owner, Repo);
        var work = Path.Combine(env.Root, "work");
        (await GitAsync(env.Root, env.Plugin.GitConfigFor(cloneUrl), ct, "clone", cloneUrl, work)).Check();
        await File.WriteAllTextAsync(Path.Combine(work, "x.txt"), "x\n", ct);
        (await GitAsync(work, [], ct, "add", "-A")).Check();
        (await GitAsync(work, [], ct, "commit", "-m", "x")).Check();
        env.Server.ClearRequests();

        var push = await GitAsync(work, [], ct, "push", "origin", "HEAD:refs/heads/sneaky");
        var anonymousClone = await GitAsync(env.Root, [], ct, "clone", cloneUrl, Path.Combine(env.Root, "anonymous"));

        Assert.NotEqual(0, push.ExitCode);
        Assert.NotEqual(0, anonymousClone.ExitCode);
        // The 401 made git ask for a user name, which it cannot (no prompt, no helper).
        Assert.Contains("could not read Username", push.Error, StringComparison.Ordinal);
        Assert.Contains("could not read Username", anonymousClone.Error, StringComparison.Ordinal);
        Assert.False((await env.Server.BranchesAsync(Owner, Repo, ct)).ContainsKey("sneaky"));
        var refused = Assert.Single(env.Server.Requests, r => r.Path == $"/{Owner}/{Repo}.git/info/refs" && r.Query == "?service=git-receive-pack");
        Assert.Equal(401, refused.StatusCode);
        Assert.False(refused.Headers.ContainsKey("Authorization"));
        Assert.DoesNotContain(env.Server.Requests, r => r.Path.EndsWith("/git-receive-pack", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_wrong_token_in_the_header_is_refused()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var env = await StartAsync(ct);
        var cloneUrl = env.Server.CloneUrl(Owner, Repo);
        env.SetSetting("GITHUB_TOKEN", "not-the-token");

        var clone = await GitAsync(env.Root, env.Plugin.GitConfigFor(cloneUrl), ct, "clone", cloneUrl, Path.Combine(env.Root, "work"));

        Assert.NotEqual(0, clone.ExitCode);
        Assert.All(env.Server.Requests, r => Assert.Equal(401, r.StatusCode));
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("x-access-token:not-the-token")), env.Server.Requests[0].Headers["Authorization"]);
    }

    private static bool Contains(byte[] haystack, string needle) => haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(needle)) >= 0;
}
