using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Effects;
using DevOrchestrator.Features.Plugins;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.IntegrationTests.Integrations;

/// <summary>
/// The idempotency records with real vendors (the fake GitHub and Slack over HTTP) and the real database: a write whose
/// answer was lost is found at the vendor instead of being made again; a completed one is not even looked up; a
/// definite refusal may be tried again.
/// </summary>
public sealed class ExternalEffectsTests
{
    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task A_write_whose_answer_was_lost_is_found_at_the_vendor_and_never_made_twice(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var h = await IntegrationsHarness.StartAsync(db, ct);
        var services = h.Service.App.Services;
        var effects = services.GetRequiredService<ExternalEffects>();
        var registry = services.GetRequiredService<PluginRegistry>();
        var github = registry.ForRepository(h.RepositoryUrl)!;
        var slack = registry.Configured<ICommunicationPlugin>()!;
        var taskId = await h.Service.WithDbAsync(async d =>
        {
            var task = new DevTask { Title = "effects", ProjectId = h.ProjectId, CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow };
            d.Tasks.Add(task);
            await d.SaveChangesAsync(ct);
            return task.Id;
        });
        await h.GitHub.CommitFileAsync("acme", "app", "main", "base.txt", "base", ct);
        await github.EnsureBranchAsync(h.RepositoryUrl, "feature/x", "main", ct);
        await h.GitHub.CommitFileAsync("acme", "app", "feature/x", "x.txt", "x", ct);
        var draft = new PullRequestDraft(h.RepositoryUrl, "feature/x", "main", "X", "body");

        // 1. The pull request is created, then the answer is lost (a timeout after the vendor acted).
        var key = ExternalEffects.Key(taskId, "pull_request", "feature/x");
        await Assert.ThrowsAsync<TimeoutException>(() => effects.OnceAsync<PullRequestInfo>(key, taskId, "github", "pull_request",
            c => github.FindPullRequestAsync(h.RepositoryUrl, "feature/x", c),
            async c =>
            {
                await github.CreateOrUpdatePullRequestAsync(draft, c);
                throw new TimeoutException("the answer was lost");
            }, ct));
        Assert.Equal("pending", (await Record(h, key)).Status);

        // 2. The retry finds it at the vendor and does not create another.
        var retried = await effects.OnceAsync(key, taskId, "github", "pull_request",
            c => github.FindPullRequestAsync(h.RepositoryUrl, "feature/x", c), c => github.CreateOrUpdatePullRequestAsync(draft, c), ct);
        Assert.True(retried.Reused);
        var pr = Assert.Single(h.GitHub.PullRequests("acme", "app"));
        Assert.Equal(pr.Number, retried.Value.Number);
        Assert.Single(h.GitHub.RequestsTo("POST", "/api/v3/repos/acme/app/pulls"));
        var record = await Record(h, key);
        Assert.Equal("completed", record.Status);
        Assert.Equal(2, record.Attempts);

        // 3. Completed: the stored result is returned without calling the vendor at all.
        var before = h.GitHub.Requests.Count;
        var again = await effects.OnceAsync<PullRequestInfo>(key, taskId, "github", "pull_request",
            _ => throw new InvalidOperationException("must not look up"), _ => throw new InvalidOperationException("must not write"), ct);
        Assert.True(again.Reused);
        Assert.Equal(pr.Number, again.Value.Number);
        Assert.Equal(before, h.GitHub.Requests.Count);

        // 4. A comment whose answer was lost: found by the key it carries (an HTML comment in its body).
        var commentKey = ExternalEffects.Key(taskId, "vcs_comment", $"{pr.Number}:notify:1");
        await Assert.ThrowsAsync<TimeoutException>(() => effects.OnceAsync<ExternalObject>(commentKey, taskId, "github", "vcs_comment",
            c => github.FindCommentAsync(h.RepositoryUrl, pr.Number, commentKey, c),
            async c =>
            {
                await github.AddCommentAsync(h.RepositoryUrl, pr.Number, "Working on it", commentKey, c);
                throw new TimeoutException("the answer was lost");
            }, ct));
        var comment = await effects.OnceAsync(commentKey, taskId, "github", "vcs_comment",
            c => github.FindCommentAsync(h.RepositoryUrl, pr.Number, commentKey, c), c => github.AddCommentAsync(h.RepositoryUrl, pr.Number, "Working on it", commentKey, c), ct);
        Assert.True(comment.Reused);
        Assert.Single(h.GitHub.Comments("acme", "app", pr.Number));

        // 5. A Slack message whose answer was lost: found by the key in its metadata.
        var messageKey = ExternalEffects.Key(taskId, "chat_message", "C0APP:notify:1");
        await Assert.ThrowsAsync<TimeoutException>(() => effects.OnceAsync<ChatMessage>(messageKey, taskId, "slack", "chat_message",
            c => slack.FindMessageAsync(IntegrationsHarness.Channel, null, messageKey, c),
            async c =>
            {
                await slack.PostMessageAsync(new ChatMessageDraft(IntegrationsHarness.Channel, "hello"), messageKey, c);
                throw new TimeoutException("the answer was lost");
            }, ct));
        var message = await effects.OnceAsync(messageKey, taskId, "slack", "chat_message",
            c => slack.FindMessageAsync(IntegrationsHarness.Channel, null, messageKey, c),
            c => slack.PostMessageAsync(new ChatMessageDraft(IntegrationsHarness.Channel, "hello"), messageKey, c), ct);
        Assert.True(message.Reused);
        Assert.Single(h.Slack.Channels[IntegrationsHarness.Channel].Messages);

        // 6. A definite refusal (a 404: no such pull request) is recorded as failed; the next attempt writes.
        var refusedKey = ExternalEffects.Key(taskId, "vcs_comment", "999:notify:1");
        await Assert.ThrowsAsync<PluginException>(() => effects.OnceAsync(refusedKey, taskId, "github", "vcs_comment",
            c => github.FindCommentAsync(h.RepositoryUrl, 999, refusedKey, c), c => github.AddCommentAsync(h.RepositoryUrl, 999, "x", refusedKey, c), ct));
        Assert.Equal("failed", (await Record(h, refusedKey)).Status);
    }

    private static Task<ExternalEffect> Record(IntegrationsHarness h, string key) =>
        h.Service.WithDbAsync(d => d.ExternalEffects.AsNoTracking().SingleAsync(e => e.Key == key));
}
