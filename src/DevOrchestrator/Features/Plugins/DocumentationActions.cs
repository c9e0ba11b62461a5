using System.Globalization;
using DevOrchestrator.Abstractions;
using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Features.Effects;

namespace DevOrchestrator.Features.Plugins;

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
