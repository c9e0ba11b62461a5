using System.Text.Json.Nodes;
using DevOrchestrator.Features.Agents.Prompts;
using DevOrchestrator.Features.Costs;
using Microsoft.Extensions.AI;

namespace DevOrchestrator.Features.Agents;

/// <summary>
/// The planning agent: turns a project and its requirements into epics, each with tasks, every item with a title, a
/// description and acceptance criteria, in one model call (JSON answer). The requirements are data to the model, never
/// instructions. The answer is read leniently (JSON inside prose or a code fence, trailing commas, camelCase names) and
/// bounded: at most <see cref="MaxEpics"/> epics of at most <see cref="MaxTasksPerEpic"/> tasks, titles cut to
/// <see cref="MaxTitleChars"/> characters. The prompts are the <c>planning_system</c> and <c>planning_task</c> templates
/// (<see cref="PromptTemplates"/>); the default user message is the project and the requirements as one JSON object.
/// </summary>
public sealed class PlanningAgent(ModelClients models, PromptTemplates prompts)
{
    public const int MaxEpics = 20;
    public const int MaxTasksPerEpic = 30;
    public const int MaxTitleChars = 500;
    public const int MaxDescriptionChars = 20_000;
    public const int MaxCriteria = 20;
    public const int MaxCriterionChars = 1_000;

    /// <summary>Room for a full plan (20 × 30 items with descriptions); the call's worst case is reserved against the budget.</summary>
    public const int MaxOutputTokens = 16_000;

    /// <summary>
    /// Asks the planning model for a plan. Throws <see cref="ModelUnavailableException"/> (no provider, unpriced model),
    /// <see cref="BudgetExceededException"/> (the call could break the monthly budget), <see cref="UnreadablePlanException"/>
    /// (the answer holds no readable plan), or the provider's own error once its retries are spent.
    /// </summary>
    public async Task<PlanningResult> PlanAsync(ModelCallScope scope, PlanningProject project, IReadOnlyList<string> requirements, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(project);
        ArgumentNullException.ThrowIfNull(requirements);
        var client = models.Create(AgentRoles.Planning, scope);
        var response = await client.GetResponseAsync(
            [
                new ChatMessage(ChatRole.System, prompts.Render(PromptCatalog.PlanningSystem, new Dictionary<string, object?>())),
                new ChatMessage(ChatRole.User, prompts.Render(PromptCatalog.PlanningTask, PromptCatalog.PlanningTaskModel(project, requirements))),
            ],
            new ChatOptions { MaxOutputTokens = MaxOutputTokens },
            cancellationToken);
        var cost = response.AdditionalProperties?.TryGetValue(MeteredChatClient.CostKey, out var value) == true && value is decimal usd ? usd : 0m;
        var model = response.ModelId ?? models.Resolve(AgentRoles.Planning).Model;
        try
        {
            return new PlanningResult(Parse(response.Text), model, cost);
        }
        catch (UnreadablePlanException ex)
        {
            var cut = response.FinishReason == ChatFinishReason.Length ? $" (the answer was cut at the output limit of {MaxOutputTokens} tokens)" : string.Empty;
            throw new UnreadablePlanException(ex.Message + cut, cost);
        }
    }

    /// <summary>
    /// Reads a plan from the model's answer: the first JSON object (or array of epics) in it, tolerating prose and code
    /// fences around it. Items without a title are skipped; sizes are bounded (see the class notes). Throws
    /// <see cref="UnreadablePlanException"/> when there is no JSON or no epic with a title.
    /// </summary>
    internal static ProjectPlan Parse(string text)
    {
        var root = ModelAnswers.ReadJson(text ?? string.Empty)
            ?? throw new UnreadablePlanException("the planning model's answer holds no JSON plan: " + Excerpt(text));
        var epicsNode = root switch
        {
            JsonArray array => array,
            JsonObject o => Field(o, "epics") as JsonArray ?? (Field(o, "plan") is JsonObject plan ? Field(plan, "epics") as JsonArray : null),
            _ => null,
        } ?? throw new UnreadablePlanException("the planning model's answer has no \"epics\" list: " + Excerpt(text));

        var notes = new List<string>();
        var untitled = 0;
        var epics = new List<PlannedEpic>();
        var epicsSeen = 0;
        foreach (var node in epicsNode)
        {
            if (node is not JsonObject epic || ReadItem(epic) is not { } item)
            {
                untitled++;
                continue;
            }

            if (++epicsSeen > MaxEpics)
            {
                continue;
            }

            var tasks = new List<PlannedTask>();
            var tasksSeen = 0;
            foreach (var taskNode in Field(epic, "tasks", "stories", "issues", "children") as JsonArray ?? [])
            {
                if (taskNode is not JsonObject taskObject || ReadItem(taskObject) is not { } task)
                {
                    untitled++;
                    continue;
                }

                if (++tasksSeen <= MaxTasksPerEpic)
                {
                    tasks.Add(task);
                }
            }

            if (tasksSeen > MaxTasksPerEpic)
            {
                notes.Add($"epic '{item.Title}' had {tasksSeen} tasks; only the first {MaxTasksPerEpic} were kept");
            }

            epics.Add(new PlannedEpic(item.Title, item.Description, item.AcceptanceCriteria, tasks));
        }

        if (epicsSeen > MaxEpics)
        {
            notes.Insert(0, $"the plan had {epicsSeen} epics; only the first {MaxEpics} were kept");
        }

        if (untitled > 0)
        {
            notes.Add($"{untitled} item(s) without a title were skipped");
        }

        return epics.Count == 0
            ? throw new UnreadablePlanException("the planning model's answer has no epic with a title: " + Excerpt(text))
            : new ProjectPlan(epics, notes);
    }

    private static PlannedTask? ReadItem(JsonObject item)
    {
        var title = OneLine(Text(Field(item, "title", "name", "summary")));
        if (title.Length == 0)
        {
            return null;
        }

        var description = Cut((Text(Field(item, "description", "details", "body")) ?? string.Empty).Trim(), MaxDescriptionChars);
        return new PlannedTask(Cut(title, MaxTitleChars), description, Criteria(Field(item, "acceptance_criteria", "criteria", "acceptance")));
    }

    private static List<string> Criteria(JsonNode? node)
    {
        IEnumerable<string?> raw = node switch
        {
            JsonArray array => array.Select(c => c is JsonObject o ? Text(Field(o, "text", "criterion", "description", "title")) : Text(c)),
            JsonValue => (Text(node) ?? string.Empty).Split('\n'),
            _ => [],
        };
        return raw
            .Select(c => OneLine(c).TrimStart('-', '*', '•', ' '))
            .Where(c => c.Length > 0)
            .Take(MaxCriteria)
            .Select(c => Cut(c, MaxCriterionChars))
            .ToList();
    }

    /// <summary>A field by any of its names, ignoring case, <c>_</c> and <c>-</c> (so <c>acceptanceCriteria</c> matches).</summary>
    private static JsonNode? Field(JsonObject item, params string[] names)
    {
        foreach (var name in names)
        {
            var wanted = Normalize(name);
            foreach (var (key, value) in item)
            {
                if (Normalize(key) == wanted && value is not null)
                {
                    return value;
                }
            }
        }

        return null;
    }

    private static string Normalize(string name) => name.Replace("_", string.Empty, StringComparison.Ordinal).Replace("-", string.Empty, StringComparison.Ordinal).ToLowerInvariant();

    /// <summary>The text of a value; NUL (U+0000), which PostgreSQL's <c>text</c> cannot hold, becomes U+FFFD.</summary>
    private static string? Text(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue(out string? s) => s?.Replace('\0', '\uFFFD'),
        JsonValue v => v.ToJsonString(),
        _ => null,
    };

    private static string OneLine(string? text) => string.Join(' ', (text ?? string.Empty).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    /// <summary>At most <paramref name="maxChars"/> characters, ending in an ellipsis when cut (never inside a surrogate pair).</summary>
    private static string Cut(string text, int maxChars)
    {
        if (text.Length <= maxChars)
        {
            return text;
        }

        var keep = maxChars - 1;
        if (char.IsHighSurrogate(text[keep - 1]))
        {
            keep--;
        }

        return text[..keep] + "…";
    }

    private static string Excerpt(string? text) => string.IsNullOrWhiteSpace(text) ? "(empty answer)" : ToolOutput.HeadAndTail(text.Trim(), 300);
}
