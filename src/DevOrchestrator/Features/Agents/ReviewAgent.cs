using System.Text.Json.Nodes;
using DevOrchestrator.Features.Agents.Prompts;
using DevOrchestrator.Features.Costs;
using Microsoft.Extensions.AI;

namespace DevOrchestrator.Features.Agents;

/// <summary>
/// The review agent: reads the task and the final diff and answers approve or changes-requested with reasons, in one
/// model call (JSON answer). A diff too large for the prompt is cut to head and tail with a note. The prompts are the
/// <c>review_system</c> and <c>review_task</c> templates (<see cref="PromptTemplates"/>).
/// </summary>
public sealed class ReviewAgent(ModelClients models, PromptTemplates prompts)
{
    public const int MaxDiffChars = 60_000;

    public async Task<ReviewVerdict> ReviewAsync(ModelCallScope scope, string task, string taskSource, string diff, string? testReport, CancellationToken cancellationToken)
    {
        var client = models.Create(AgentRoles.Review, scope);
        var prompt = prompts.Render(PromptCatalog.ReviewTask, PromptCatalog.ReviewTaskModel(
            task, taskSource, diff.Length == 0 ? string.Empty : ToolOutput.HeadAndTail(diff, MaxDiffChars), testReport is { Length: > 0 } ? ToolOutput.HeadAndTail(testReport, 4000) : string.Empty));
        var response = await client.GetResponseAsync(
            [new ChatMessage(ChatRole.System, prompts.Render(PromptCatalog.ReviewSystem, new Dictionary<string, object?>())), new ChatMessage(ChatRole.User, prompt)],
            new ChatOptions { MaxOutputTokens = 2048 },
            cancellationToken);
        return Parse(response.Text);
    }

    /// <summary>Reads the verdict JSON (tolerating text around it); an answer without a readable verdict requests changes.</summary>
    internal static ReviewVerdict Parse(string text)
    {
        if (ModelAnswers.ReadJson(text, "verdict") is JsonObject json && json["verdict"] is JsonValue value && value.TryGetValue(out string? raw))
        {
            var verdict = raw.Trim().ToLowerInvariant().Replace('-', '_').Replace(' ', '_');
            var reasons = json["reasons"] is JsonArray array
                ? array.Select(r => r?.ToString() ?? string.Empty).Where(r => r.Length > 0).ToList()
                : [];
            var summary = json["summary"]?.ToString() ?? string.Empty;
            if (verdict is ReviewVerdict.Approve or "approved")
            {
                return new ReviewVerdict(ReviewVerdict.Approve, reasons, summary);
            }

            if (verdict is ReviewVerdict.ChangesRequested or "request_changes" or "changes")
            {
                return new ReviewVerdict(ReviewVerdict.ChangesRequested, reasons, summary);
            }
        }

        return new ReviewVerdict(ReviewVerdict.ChangesRequested, ["the review answer had no readable verdict: " + ToolOutput.HeadAndTail(text, 500)], string.Empty);
    }
}
