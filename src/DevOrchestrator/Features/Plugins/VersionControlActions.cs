using System.Globalization;
using DevOrchestrator.Abstractions;
using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Effects;

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
        task.Source == TaskSources.GitHub && task.ExternalId is { } id && id.LastIndexOf('#') is var hash and > 0 &&
        int.TryParse(id.AsSpan(hash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number : null;
}
