using System.Globalization;
using DevOrchestrator.Abstractions;
using DevOrchestrator.Abstractions.Plugins;

namespace DevOrchestrator.Features.Plugins;

/// <summary>
/// <c>version_control.*</c> steps, run by the configured code host that serves the project's repository. Writes go
/// through <see cref="ExternalEffects"/>; a project without such a host skips the step with a note.
/// </summary>
public sealed class VersionControlActions(PluginRegistry registry, ExternalEffects effects) : IWorkflowActions
{
    private static readonly Dictionary<string, WorkflowActionDescriptor> s_actions = new(StringComparer.Ordinal)
    {
        ["create_pull_request"] = new("Open a pull request for the task branch, or update the open one (never two).", ["branch"], ["title", "body", "base_branch", "draft"])
        {
            InputTypes = new Dictionary<string, WorkflowInputType> { ["draft"] = WorkflowInputType.Boolean },
        },
        ["add_comment"] = new("Comment on an issue or pull request (number; default: the task's GitHub issue).", ["body"], ["number"])
        {
            InputTypes = new Dictionary<string, WorkflowInputType> { ["number"] = WorkflowInputType.PositiveNumber },
        },
        ["ensure_branch"] = new("Create the branch at the code host from the base branch, or reuse it.", ["branch"], ["base_branch"]),
        ["get_repository"] = new("Read the repository's information (default branch, visibility).", [], []),
    };

    public string Plugin => PluginTypes.VersionControl;

    public IReadOnlyDictionary<string, WorkflowActionDescriptor> Actions => s_actions;

    public async Task<IReadOnlyDictionary<string, object?>> InvokeAsync(string action, WorkflowActionContext context, CancellationToken cancellationToken)
    {
        var repository = context.Project?.RepositoryUrl is { Length: > 0 } url ? url : throw new WorkflowStepSkippedException("the project has no repository_url");
        var host = registry.ForRepository(repository)
            ?? throw new WorkflowStepSkippedException($"no configured code host serves {Workspaces.GitCli.Redact(repository)} (GitHub: set GITHUB_TOKEN, and GITHUB_API_URL for GitHub Enterprise)");
        switch (action)
        {
            case "create_pull_request":
            {
                var branch = context.RequireString("branch");
                var draft = new PullRequestDraft(repository, branch, context.GetString("base_branch") is { Length: > 0 } b ? b : context.Project!.DefaultBranch,
                    context.GetString("title") is { Length: > 0 } t ? t : context.Task.Title,
                    context.GetString("body") ?? "", context.GetBoolean("draft", absent: false));
                context.Progress?.Report($"opening or updating the pull request for {branch}");
                var key = ExternalEffects.Key(context.Task.Id, "pull_request", $"{branch}:{context.WorkflowExecutionId}");
                var pr = await effects.OnceAsync(key, context.Task.Id, host.Name, "pull_request",
                    ct => host.FindPullRequestAsync(repository, branch, ct), ct => host.CreateOrUpdatePullRequestAsync(draft, ct), cancellationToken);
                context.Progress?.Report($"pull request #{pr.Value.Number} {(pr.Value.Created ? "opened" : "updated")}: {pr.Value.Url}");
                return new Dictionary<string, object?>
                {
                    ["number"] = pr.Value.Number,
                    ["url"] = pr.Value.Url,
                    ["pull_request_url"] = pr.Value.Url,
                    ["created"] = pr.Value.Created,
                    ["state"] = pr.Value.State,
                    ["reused"] = pr.Reused,
                };
            }

            case "add_comment":
            {
                var number = context.GetNumber("number", WorkflowInputType.PositiveNumber) is { } n
                    ? n <= int.MaxValue ? (int)n : throw new WorkflowActionException($"input 'number' is not an issue or pull request number (got {n})")
                    : GitHubIssueNumber(context.Task) ?? throw new WorkflowStepSkippedException("no issue or pull request number given, and the task did not come from a GitHub issue");
                var body = context.RequireString("body");
                var key = ExternalEffects.Key(context.Task.Id, "vcs_comment", $"{number}:{context.StepName}:{context.WorkflowExecutionId}");
                var comment = await effects.OnceAsync(key, context.Task.Id, host.Name, "vcs_comment",
                    ct => host.FindCommentAsync(repository, number, key, ct), ct => host.AddCommentAsync(repository, number, body, key, ct), cancellationToken);
                return new Dictionary<string, object?> { ["id"] = comment.Value.Id, ["url"] = comment.Value.Url, ["reused"] = comment.Reused };
            }

            case "ensure_branch":
            {
                var branch = context.RequireString("branch");
                var result = await host.EnsureBranchAsync(repository, branch, context.GetString("base_branch") is { Length: > 0 } b ? b : context.Project!.DefaultBranch, cancellationToken);
                return new Dictionary<string, object?> { ["branch"] = result.Name, ["sha"] = result.Sha, ["created"] = result.Created };
            }

            case "get_repository":
            {
                var info = await host.GetRepositoryAsync(repository, cancellationToken);
                return new Dictionary<string, object?>
                {
                    ["full_name"] = info.FullName,
                    ["default_branch"] = info.DefaultBranch,
                    ["url"] = info.WebUrl,
                    ["private"] = info.Private,
                };
            }

            default:
                throw new WorkflowActionException($"version_control has no action '{action}'");
        }
    }

    /// <summary>The issue number of a task made from a GitHub issue (external id <c>owner/repo#12</c>).</summary>
    internal static int? GitHubIssueNumber(WorkflowTaskInfo task) =>
        task.Source == Tasks.TaskSources.GitHub && task.ExternalId is { } id && id.LastIndexOf('#') is var hash and > 0 &&
        int.TryParse(id.AsSpan(hash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number : null;
}

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
            : context.Task.Source == Tasks.TaskSources.Jira && context.Task.ExternalId is { Length: > 0 } id ? id
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

/// <summary>
/// <c>communication.post_message</c>: a message in the task's chat thread (started by <see cref="TaskChatThread"/>)
/// in the project's channel.
/// </summary>
public sealed class CommunicationActions(PluginRegistry registry, TaskChatThread threads, ExternalEffects effects) : IWorkflowActions
{
    private static readonly Dictionary<string, WorkflowActionDescriptor> s_actions = new(StringComparer.Ordinal)
    {
        ["post_message"] = new("Post to the task's thread in the project's channel (thread: false posts at the top of the channel).", ["text"], ["channel", "thread"])
        {
            InputTypes = new Dictionary<string, WorkflowInputType> { ["thread"] = WorkflowInputType.Boolean },
        },
    };

    public string Plugin => PluginTypes.Communication;

    public IReadOnlyDictionary<string, WorkflowActionDescriptor> Actions => s_actions;

    public async Task<IReadOnlyDictionary<string, object?>> InvokeAsync(string action, WorkflowActionContext context, CancellationToken cancellationToken)
    {
        if (action != "post_message")
        {
            throw new WorkflowActionException($"communication has no action '{action}'");
        }

        var chat = registry.Configured<ICommunicationPlugin>()
            ?? throw new WorkflowStepSkippedException("no chat plugin is configured (Slack: set SLACK_BOT_TOKEN)");
        var channel = context.GetString("channel") is { Length: > 0 } c ? c
            : context.Project?.SlackChannel ?? throw new WorkflowStepSkippedException("the project has no slack_channel");
        var text = context.RequireString("text");
        string? threadId = null;
        if (context.GetBoolean("thread", absent: true))
        {
            threadId = (await threads.EnsureAsync(chat, context.Task.Id, context.Task.Title, channel, cancellationToken)).ThreadId;
        }

        var key = ExternalEffects.Key(context.Task.Id, "chat_message", $"{channel}:{context.StepName}:{context.WorkflowExecutionId}");
        var message = await effects.OnceAsync(key, context.Task.Id, chat.Name, "chat_message",
            ct => chat.FindMessageAsync(channel, threadId, key, ct), ct => chat.PostMessageAsync(new ChatMessageDraft(channel, text, threadId), key, ct), cancellationToken);
        context.Progress?.Report($"posted to {channel}");
        return new Dictionary<string, object?> { ["channel"] = message.Value.Channel, ["message_id"] = message.Value.MessageId, ["thread_id"] = message.Value.ThreadId, ["url"] = message.Value.Url, ["reused"] = message.Reused };
    }
}

/// <summary>
/// <c>documentation.write_page</c>: one page per task in the project's space, created or updated. Without a
/// <c>body</c> it writes the task's page from the run's facts — summary, files changed, pull request, review verdict,
/// cost — every piece of text escaped (it comes from tickets and models).
/// </summary>
public sealed class DocumentationActions(PluginRegistry registry, ExternalEffects effects, Microsoft.EntityFrameworkCore.IDbContextFactory<Data.AppDbContext> dbContexts) : IWorkflowActions
{
    private static readonly Dictionary<string, WorkflowActionDescriptor> s_actions = new(StringComparer.Ordinal)
    {
        ["write_page"] = new("Create or update the task's page in the project's space under its parent page (body in storage format, or composed from summary, files, pull_request_url, review_verdict, review_summary).",
            [], ["title", "body", "space_key", "parent_id", "summary", "files", "pull_request_url", "review_verdict", "review_summary"]),
    };

    public string Plugin => PluginTypes.Documentation;

    public IReadOnlyDictionary<string, WorkflowActionDescriptor> Actions => s_actions;

    public async Task<IReadOnlyDictionary<string, object?>> InvokeAsync(string action, WorkflowActionContext context, CancellationToken cancellationToken)
    {
        if (action != "write_page")
        {
            throw new WorkflowActionException($"documentation has no action '{action}'");
        }

        var docs = registry.Configured<IDocumentationPlugin>()
            ?? throw new WorkflowStepSkippedException("no documentation plugin is configured (Confluence: set CONFLUENCE_URL, CONFLUENCE_EMAIL and CONFLUENCE_API_TOKEN)");
        var space = context.GetString("space_key") is { Length: > 0 } s ? s
            : context.Project?.ConfluenceSpaceKey ?? throw new WorkflowStepSkippedException("the project has no confluence_space_key");
        var parent = context.GetString("parent_id") is { Length: > 0 } p ? p : context.Project?.ConfluenceParentId;
        var title = context.GetString("title") is { Length: > 0 } t ? t : $"Task {context.Task.Id}: {context.Task.Title}";
        var body = context.GetString("body") is { Length: > 0 } b ? b : await ComposeAsync(context, cancellationToken);
        var draft = new DocumentPageDraft(space, parent, title, body);
        var key = ExternalEffects.Key(context.Task.Id, "doc_page", $"{space}:{context.StepName}:{context.WorkflowExecutionId}");
        // Pages are found by title in the space, so an unknown outcome is settled by writing again (an update at worst).
        var page = await effects.OnceAsync(key, context.Task.Id, docs.Name, "doc_page",
            _ => Task.FromResult<DocumentPage?>(null), ct => docs.CreateOrUpdatePageAsync(draft, ct), cancellationToken);
        context.Progress?.Report($"page {(page.Value.Created ? "created" : "updated")} (version {page.Value.Version}): {page.Value.Url}");
        return new Dictionary<string, object?> { ["page_id"] = page.Value.Id, ["url"] = page.Value.Url, ["version"] = page.Value.Version, ["created"] = page.Value.Created, ["reused"] = page.Reused };
    }

    /// <summary>The task's page in XHTML (Confluence's storage format is XHTML plus macros).</summary>
    private async Task<string> ComposeAsync(WorkflowActionContext context, CancellationToken cancellationToken)
    {
        long costMicros;
        await using (var db = dbContexts.CreateDbContext())
        {
            costMicros = await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.FirstOrDefaultAsync(
                db.Tasks.Where(x => x.Id == context.Task.Id).Select(x => x.CostMicros), cancellationToken);
        }

        static string E(string? text) => System.Net.WebUtility.HtmlEncode(text ?? "");
        var html = new System.Text.StringBuilder();
        html.Append("<h2>Summary</h2>");
        foreach (var paragraph in (context.GetString("summary") is { Length: > 0 } summary ? summary : context.Task.Title).Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            html.Append("<p>").Append(E(paragraph.Trim()).Replace("\n", "<br/>", StringComparison.Ordinal)).Append("</p>");
        }

        html.Append("<h2>Details</h2><table><tbody>");
        void Row(string name, string valueHtml) => html.Append("<tr><th>").Append(E(name)).Append("</th><td>").Append(valueHtml).Append("</td></tr>");
        Row("Task", E($"#{context.Task.Id} {context.Task.Title}"));
        if (context.Task.ExternalId is { } external)
        {
            Row("Source", E($"{context.Task.Source} {external}"));
        }

        if (context.GetString("pull_request_url") is { Length: > 0 } pr)
        {
            Row("Pull request", $"<a href=\"{E(pr)}\">{E(pr)}</a>");
        }

        if (context.GetString("review_verdict") is { Length: > 0 } verdict)
        {
            Row("Review", E(verdict + (context.GetString("review_summary") is { Length: > 0 } why ? ": " + why : "")));
        }

        Row("Cost", E("$" + Costs.Money.ToUsd(costMicros).ToString("0.00##", CultureInfo.InvariantCulture)));
        html.Append("</tbody></table>");
        if (context.Inputs.TryGetValue("files", out var files) && files is IEnumerable<object?> list && list.Select(f => f?.ToString()).Where(f => !string.IsNullOrEmpty(f)).ToList() is { Count: > 0 } names)
        {
            html.Append("<h2>What changed</h2><ul>");
            foreach (var name in names)
            {
                html.Append("<li><code>").Append(E(name)).Append("</code></li>");
            }

            html.Append("</ul>");
        }

        return html.ToString();
    }
}
