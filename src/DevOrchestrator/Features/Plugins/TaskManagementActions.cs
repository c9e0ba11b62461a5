using DevOrchestrator.Abstractions;
using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Effects;

namespace DevOrchestrator.Features.Plugins;

/// <summary><c>task_management.*</c> steps, run by the configured tracker. A task without a tracker issue skips them with a note.</summary>
public sealed class TaskManagementActions(PluginRegistry registry, ExternalEffects effects) : IWorkflowActions
{
    private static readonly Dictionary<string, WorkflowActionDescriptor> s_actions = new(StringComparer.Ordinal)
    {
        ["get_issue"] = new("Fetch the ticket (default: the task's Jira issue): title, description as text, status.", [], ["issue_key"]),
        ["add_comment"] = new("Comment on the ticket.", ["text"], ["issue_key"]),
        ["transition"] = new("Move the ticket to a status (todo, in_progress, in_review, done, or the tracker's own status name).", ["status"], ["issue_key"]),
        ["create_issue"] = new("Create an issue or epic in the project's tracker project.", ["title"], ["description", "kind", "parent_key", "project_key", "labels"]),
    };

    public string Plugin => PluginTypes.TaskManagement;

    public IReadOnlyDictionary<string, WorkflowActionDescriptor> Actions => s_actions;

    public async Task<IReadOnlyDictionary<string, object?>> InvokeAsync(string action, WorkflowActionContext context, CancellationToken cancellationToken)
    {
        var tracker = registry.Configured<ITaskManagementPlugin>()
            ?? throw new WorkflowStepSkippedException("no issue tracker is configured (Jira: set JIRA_URL, JIRA_EMAIL and JIRA_API_TOKEN)");
        if (action == "create_issue")
        {
            var projectKey = context.GetString("project_key") is { Length: > 0 } p ? p
                : context.Project?.JiraProjectKey ?? throw new WorkflowStepSkippedException("the project has no jira_project_key");
            var labels = (context.GetString("labels") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var draft = new TrackerIssueDraft(projectKey, context.RequireString("title"), context.GetString("description"),
                context.GetString("kind") is "epic" ? "epic" : "task", context.GetString("parent_key"), labels);
            var key = ExternalEffects.Key(context.Task.Id, "tracker_issue", $"{context.StepName}:{context.WorkflowExecutionId}");
            var created = await effects.OnceAsync(key, context.Task.Id, tracker.Name, "tracker_issue",
                ct => tracker.FindIssueAsync(draft, key, ct), ct => tracker.CreateIssueAsync(draft, key, ct), cancellationToken);
            return new Dictionary<string, object?> { ["issue_key"] = created.Value.Key, ["url"] = created.Value.Url, ["reused"] = created.Reused };
        }

        var issueKey = context.GetString("issue_key") is { Length: > 0 } k ? k
            : context.Task.Source == TaskSources.Jira && context.Task.ExternalId is { Length: > 0 } id ? id
            : throw new WorkflowStepSkippedException("the task has no tracker issue (it did not come from Jira and no issue_key was given)");
        switch (action)
        {
            case "get_issue":
            {
                var issue = await tracker.GetIssueAsync(issueKey, cancellationToken);
                context.Progress?.Report($"fetched {issue.Key}: {issue.Title} ({issue.Status})");
                return new Dictionary<string, object?>
                {
                    ["issue_key"] = issue.Key,
                    ["title"] = issue.Title,
                    ["description"] = issue.Description,
                    ["status"] = issue.Status,
                    ["issue_type"] = issue.IssueType,
                    ["url"] = issue.Url,
                };
            }

            case "add_comment":
            {
                var text = context.RequireString("text");
                var key = ExternalEffects.Key(context.Task.Id, "tracker_comment", $"{issueKey}:{context.StepName}:{context.WorkflowExecutionId}");
                var comment = await effects.OnceAsync(key, context.Task.Id, tracker.Name, "tracker_comment",
                    ct => tracker.FindCommentAsync(issueKey, key, ct), ct => tracker.AddCommentAsync(issueKey, text, key, ct), cancellationToken);
                context.Progress?.Report($"commented on {issueKey}");
                return new Dictionary<string, object?> { ["issue_key"] = issueKey, ["comment_id"] = comment.Value.Id, ["url"] = comment.Value.Url, ["reused"] = comment.Reused };
            }

            case "transition":
            {
                var status = context.RequireString("status");
                var key = ExternalEffects.Key(context.Task.Id, "tracker_transition", $"{issueKey}:{status}:{context.WorkflowExecutionId}");
                // Moving to a status is idempotent at the tracker: an issue already there is left alone, so an unknown outcome just asks again.
                var moved = await effects.OnceAsync(key, context.Task.Id, tracker.Name, "tracker_transition",
                    _ => Task.FromResult<TrackerTransition?>(null), ct => tracker.TransitionAsync(issueKey, status, ct), cancellationToken);
                context.Progress?.Report(moved.Value.Changed ? $"moved {issueKey} from {moved.Value.FromStatus} to {moved.Value.ToStatus}" : $"{issueKey} is already {moved.Value.ToStatus}");
                return new Dictionary<string, object?>
                {
                    ["issue_key"] = issueKey,
                    ["from_status"] = moved.Value.FromStatus,
                    ["to_status"] = moved.Value.ToStatus,
                    ["changed"] = moved.Value.Changed,
                };
            }

            default:
                throw new WorkflowActionException($"task_management has no action '{action}'");
        }
    }
}
