using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Plugins;
using DevOrchestrator.Features.Tasks;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Webhooks;

/// <summary>
/// Turns a verified external item into work: maps it to a project (GitHub by <c>repository_url</c>, Jira by
/// <c>jira_project_key</c>, Slack by <c>slack_channel</c>), makes at most one task per source and external id, and
/// queues it; feedback on a task's pull request queues that task again on its branch. A delivery id seen before is
/// acknowledged without acting again. Nothing is created for an item that maps to no project.
/// </summary>
public sealed class TaskIntake(AppDbContext db, TaskLifecycle lifecycle, ConfigEncryption encryption, TimeProvider timeProvider)
{
    public async Task<IntakeResult> AcceptAsync(IntakeItem item, string? deliveryId, string? eventName, string? replyTo, CancellationToken cancellationToken)
    {
        item = Storable(item);
        deliveryId = NoNul(deliveryId); // a Slack command's delivery id is its trigger_id, from the form
        eventName = NoNul(eventName);
        var source = item.Source;
        if (deliveryId is { Length: > 0 } && await db.WebhookDeliveries.AsNoTracking().FirstOrDefaultAsync(d => d.Source == source && d.DeliveryId == deliveryId, cancellationToken) is { } seen)
        {
            return new IntakeResult(IntakeOutcome.Duplicate, $"delivery {deliveryId} was already received ({seen.Outcome})", seen.TaskId);
        }

        if (item.Kind == IntakeKind.Ignored)
        {
            await RecordAsync(source, deliveryId, eventName, "ignored", null, cancellationToken);
            return new IntakeResult(IntakeOutcome.Ignored, item.IgnoredReason ?? "nothing to do");
        }

        var project = await MapAsync(item, cancellationToken);
        if (project is null)
        {
            return new IntakeResult(IntakeOutcome.UnknownProject, item.Source switch
            {
                TaskSources.GitHub => $"no project has repository_url {item.RepositoryUrl}",
                TaskSources.Jira => $"no project has jira_project_key {item.TrackerProjectKey}",
                TaskSources.Slack => $"no project has slack_channel {item.Channel}{(item.ChannelName is { } n ? $" (#{n})" : "")}",
                _ => "no project is mapped to this item",
            });
        }

        return item.Kind == IntakeKind.Feedback
            ? await FeedbackAsync(item, project, deliveryId, eventName, cancellationToken)
            : await CreateAsync(item, project, deliveryId, eventName, replyTo, cancellationToken);
    }

    private async Task<IntakeResult> CreateAsync(IntakeItem item, Project project, string? deliveryId, string? eventName, string? replyTo, CancellationToken cancellationToken)
    {
        if (await db.Tasks.AsNoTracking().FirstOrDefaultAsync(t => t.Source == item.Source && t.ExternalId == item.ExternalId, cancellationToken) is { } existing)
        {
            await RecordAsync(item.Source, deliveryId, eventName, "task_exists", existing.Id, cancellationToken);
            return new IntakeResult(IntakeOutcome.TaskExists, $"{item.Source} item {item.ExternalId} is already task #{existing.Id}", existing.Id, project.Id);
        }

        var now = timeProvider.GetUtcNow();
        DevTask task;
        try
        {
            // The task, queued, and the delivery record in one transaction: a delivery is either a task or nothing.
            task = await lifecycle.CreateAsync(new NewTask(Bound(item.Title.Length > 0 ? item.Title : item.ExternalId, 500))
            {
                ProjectId = project.Id,
                Description = Describe(item),
                Source = item.Source,
                ExternalId = item.ExternalId,
                // A response_url is a credential: kept only encrypted (without ENCRYPTION_KEY on PostgreSQL the answer goes to the thread only).
                ReplyTo = replyTo is null || !encryption.IsAvailable ? null : encryption.Encrypt(replyTo),
            }, start: true, withTask: created =>
            {
                if (deliveryId is { Length: > 0 })
                {
                    db.WebhookDeliveries.Add(new WebhookDelivery { Source = item.Source, DeliveryId = deliveryId, Event = eventName, Outcome = "task_created", TaskId = created.Id, ReceivedAt = now });
                }
            });
        }
        catch (DbUpdateException ex) when (TransientDatabaseErrors.IsUniqueViolation(ex))
        {
            // The same item arrived twice at once (a retried delivery, the poll and the webhook): the other one won.
            // Only a stored winner makes it a duplicate; any other failure goes back to the sender as 5xx, so it retries.
            db.ChangeTracker.Clear();
            var winner = await db.Tasks.AsNoTracking().FirstOrDefaultAsync(t => t.Source == item.Source && t.ExternalId == item.ExternalId, CancellationToken.None);
            if (winner is not null)
            {
                return new IntakeResult(IntakeOutcome.TaskExists, $"{item.Source} item {item.ExternalId} is already task #{winner.Id}", winner.Id, project.Id);
            }

            if (deliveryId is { Length: > 0 } && await db.WebhookDeliveries.AsNoTracking().AnyAsync(d => d.Source == item.Source && d.DeliveryId == deliveryId, CancellationToken.None))
            {
                return new IntakeResult(IntakeOutcome.Duplicate, $"delivery {deliveryId} was already received");
            }

            throw;
        }

        return new IntakeResult(IntakeOutcome.TaskCreated, $"task #{task.Id} queued for project {project.Name}", task.Id, project.Id);
    }

    private async Task<IntakeResult> FeedbackAsync(IntakeItem item, Project project, string? deliveryId, string? eventName, CancellationToken cancellationToken)
    {
        // The task whose pull request this is: its completed pull_request effect names the number.
        var candidates = await (from e in db.ExternalEffects.AsNoTracking()
                                join t in db.Tasks.AsNoTracking() on e.TaskId equals t.Id
                                where t.ProjectId == project.Id && e.Operation == "pull_request" && e.Status == ExternalEffectStatuses.Completed
                                orderby e.Id descending
                                select new { t.Id, e.Result }).ToListAsync(cancellationToken);
        var taskId = candidates.FirstOrDefault(c => c.Result is not null &&
            System.Text.Json.JsonSerializer.Deserialize<PullRequestInfo>(c.Result, Hosting.JsonDefaults.Options)?.Number == item.PullRequestNumber)?.Id;
        if (taskId is null)
        {
            await RecordAsync(item.Source, deliveryId, eventName, "ignored", null, cancellationToken);
            return new IntakeResult(IntakeOutcome.UnknownPullRequest, $"pull request #{item.PullRequestNumber} was not opened by a DevOrchestrator task of project {project.Name}");
        }

        var task = await db.Tasks.SingleAsync(t => t.Id == taskId, cancellationToken);
        if (!TaskStatuses.IsFinished(task.Status) && task.Status != TaskStatuses.Pending)
        {
            return new IntakeResult(IntakeOutcome.TaskBusy, $"task #{task.Id} is {task.Status}; comment again when it has finished", task.Id, project.Id);
        }

        var feedback = $"\n\n---\nFeedback on pull request #{item.PullRequestNumber}{(item.RequestedBy is { } who ? $" from {who}" : "")}:\n{item.Feedback}";
        task.Description = Bound((task.Description ?? "") + feedback, 100_000);
        if (deliveryId is { Length: > 0 })
        {
            db.WebhookDeliveries.Add(new WebhookDelivery { Source = item.Source, DeliveryId = deliveryId, Event = eventName, Outcome = "feedback", TaskId = task.Id, ReceivedAt = timeProvider.GetUtcNow() });
            await db.SaveChangesAsync(CancellationToken.None);
        }

        if (await lifecycle.QueueAsync(task, task.Workflow, null) is null)
        {
            return new IntakeResult(IntakeOutcome.TaskBusy, $"task #{task.Id} was queued meanwhile; comment again when it has finished", task.Id, project.Id);
        }

        return new IntakeResult(IntakeOutcome.FeedbackQueued, $"task #{task.Id} queued again with the feedback on its branch", task.Id, project.Id);
    }

    private async Task<Project?> MapAsync(IntakeItem item, CancellationToken cancellationToken)
    {
        switch (item.Source)
        {
            case TaskSources.GitHub when item.RepositoryUrl is { } url:
                var wanted = RepositoryKey(url);
                var withRepository = await db.Projects.AsNoTracking().Where(p => p.RepositoryUrl != null).ToListAsync(cancellationToken);
                return withRepository.FirstOrDefault(p => RepositoryKey(p.RepositoryUrl!) == wanted);
            case TaskSources.Jira when item.TrackerProjectKey is { } key:
                var mapped = await db.Projects.AsNoTracking().Where(p => p.JiraProjectKey != null).ToListAsync(cancellationToken);
                return mapped.FirstOrDefault(p => string.Equals(p.JiraProjectKey, key, StringComparison.OrdinalIgnoreCase));
            case TaskSources.Slack when item.Channel is { } channel:
                var names = new[] { channel, item.ChannelName, "#" + item.ChannelName }.Where(n => !string.IsNullOrEmpty(n) && n != "#").ToArray();
                return await db.Projects.AsNoTracking().FirstOrDefaultAsync(p => p.SlackChannel != null && names.Contains(p.SlackChannel), cancellationToken);
            default:
                return null;
        }
    }

    /// <summary>
    /// A repository's identity for mapping: host (and port) plus path, lower case, without scheme, credentials,
    /// <c>.git</c> or trailing slash — so https://github.com/Acme/App, git@github.com:acme/app.git and
    /// https://github.com/acme/app/ are one repository.
    /// </summary>
    public static string RepositoryKey(string url)
    {
        var text = url.Trim();
        var scp = System.Text.RegularExpressions.Regex.Match(text, @"^[\w.\-]+@([\w.\-]+):(.+)$");
        if (scp.Success)
        {
            text = scp.Groups[1].Value + "/" + scp.Groups[2].Value;
        }
        else if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && !uri.IsFile)
        {
            text = uri.Authority + uri.AbsolutePath;
        }

        text = text.TrimEnd('/');
        if (text.EndsWith(".git", StringComparison.OrdinalIgnoreCase))
        {
            text = text[..^4];
        }

        if (text.StartsWith("www.", StringComparison.OrdinalIgnoreCase))
        {
            text = text[4..];
        }

        return text.ToLowerInvariant();
    }

    private async Task RecordAsync(string source, string? deliveryId, string? eventName, string outcome, long? taskId, CancellationToken cancellationToken)
    {
        if (deliveryId is not { Length: > 0 })
        {
            return;
        }

        db.WebhookDeliveries.Add(new WebhookDelivery { Source = source, DeliveryId = deliveryId, Event = eventName, Outcome = outcome, TaskId = taskId, ReceivedAt = timeProvider.GetUtcNow() });
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException ex) when (TransientDatabaseErrors.IsUniqueViolation(ex))
        {
            db.ChangeTracker.Clear(); // recorded by a concurrent duplicate
        }
    }

    /// <summary>
    /// The item with every NUL character (U+0000) replaced by U+FFFD: a vendor's payload is opaque text that must be
    /// kept, but PostgreSQL's <c>text</c> cannot hold NUL (decision record 0009).
    /// </summary>
    internal static IntakeItem Storable(IntakeItem item) => item with
    {
        ExternalId = NoNul(item.ExternalId)!,
        Title = NoNul(item.Title)!,
        Description = NoNul(item.Description),
        RepositoryUrl = NoNul(item.RepositoryUrl),
        TrackerProjectKey = NoNul(item.TrackerProjectKey),
        Channel = NoNul(item.Channel),
        ChannelName = NoNul(item.ChannelName),
        RequestedBy = NoNul(item.RequestedBy),
        Url = NoNul(item.Url),
        Feedback = NoNul(item.Feedback),
        IgnoredReason = NoNul(item.IgnoredReason),
    };

    private static string? NoNul(string? text) => text?.Replace('\0', '\uFFFD');

    private static string Describe(IntakeItem item)
    {
        var text = item.Description ?? "";
        if (item.Url is { } url)
        {
            text = $"{text}\n\n(From {item.Source}: {url}{(item.RequestedBy is { } who ? $", requested by {who}" : "")})".TrimStart();
        }

        return Bound(text, 100_000);
    }

    private static string Bound(string text, int max) => text.Length <= max ? text : text[..max];
}
