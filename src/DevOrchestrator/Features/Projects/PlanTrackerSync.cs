using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Effects;
using DevOrchestrator.Features.Events;
using DevOrchestrator.Features.Plugins;
using DevOrchestrator.Features.Tasks;
using Hangfire;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Projects;

/// <summary>
/// Creates a stored plan's epics and tasks in the project's tracker project (Jira: issues of the epic and task types,
/// each task under its epic), in the background after <c>generate-plan</c> answers. Each issue is an external effect
/// keyed by its task, so a retried job finds the issues it made instead of making them again; the issue key becomes the
/// task's <c>external_id</c> and a <c>task.tracker_issue</c> event is stored for it.
/// </summary>
public sealed partial class PlanTrackerSync(AppDbContext db, PluginRegistry registry, ExternalEffects effects, EventPublisher events, ILogger<PlanTrackerSync> logger)
{
    public const string TrackerIssueEvent = "task.tracker_issue";

    /// <summary>Whether a plan of <paramref name="project"/> would be created in a tracker (a tracker is configured and the project is mapped).</summary>
    public static ITaskManagementPlugin? TrackerFor(PluginRegistry registry, Project project) =>
        string.IsNullOrWhiteSpace(project.JiraProjectKey) ? null : registry.Configured<ITaskManagementPlugin>();

    [AutomaticRetry(Attempts = 3)]
    [Queue(TaskDispatch.BackgroundQueue)]
    public async Task<int> RunAsync(long projectId, long[] epicIds, CancellationToken cancellationToken)
    {
        var project = await db.Projects.AsNoTracking().SingleAsync(p => p.Id == projectId, cancellationToken);
        if (TrackerFor(registry, project) is not { } tracker)
        {
            return 0;
        }

        var created = 0;
        foreach (var epicId in epicIds)
        {
            var epic = await db.Tasks.SingleAsync(t => t.Id == epicId, cancellationToken);
            var epicIssue = await CreateAsync(tracker, project.JiraProjectKey!, epic, parentKey: null, cancellationToken);
            created += epicIssue.Created ? 1 : 0;
            var tasks = await db.Tasks.Where(t => t.ParentId == epicId).OrderBy(t => t.Id).ToListAsync(cancellationToken);
            foreach (var task in tasks)
            {
                created += (await CreateAsync(tracker, project.JiraProjectKey!, task, epicIssue.Key, cancellationToken)).Created ? 1 : 0;
            }
        }

        LogSynced(logger, projectId, tracker.Name, project.JiraProjectKey!, created);
        return created;
    }

    private async Task<TrackerIssue> CreateAsync(ITaskManagementPlugin tracker, string projectKey, DevTask task, string? parentKey, CancellationToken cancellationToken)
    {
        var draft = new TrackerIssueDraft(projectKey, task.Title, task.Description, task.Kind == TaskKinds.Epic ? "epic" : "task", parentKey, []);
        var key = ExternalEffects.Key(task.Id, "tracker_issue", "plan");
        var issue = await effects.OnceAsync(key, task.Id, tracker.Name, "tracker_issue",
            ct => tracker.FindIssueAsync(draft, key, ct), ct => tracker.CreateIssueAsync(draft, key, ct), cancellationToken);
        if (task.ExternalId != issue.Value.Key)
        {
            task.ExternalId = issue.Value.Key;
            events.Add(db, task.Id, TrackerIssueEvent, new { task_id = task.Id, tracker = tracker.Name, issue_key = issue.Value.Key, url = issue.Value.Url, parent_key = parentKey });
            await db.SaveChangesAsync(cancellationToken);
        }

        return issue.Value with { Created = !issue.Reused && issue.Value.Created };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Plan of project {ProjectId} synced to {Tracker} project {TrackerProject}: {Created} issue(s) created")]
    private static partial void LogSynced(ILogger logger, long projectId, string tracker, string trackerProject, int created);
}
