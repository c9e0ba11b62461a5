using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using DevOrchestrator.Abstractions;

namespace DevOrchestrator.Features.Agents.Prompts;

/// <summary>
/// The prompt templates the agents render, each with the variables it is given, and the models they are rendered with
/// (the same builders make the sample data that <see cref="PromptTemplates.Validate"/> renders). Besides these, any
/// other <c>*.liquid</c> file in <c>PROMPTS_DIR</c> is a step instruction template, for a workflow step's
/// <c>prompt_template:</c> (<see cref="InstructionsKind"/>).
/// </summary>
public static class PromptCatalog
{
    public const string DevelopmentSystem = "development_system";
    public const string DevelopmentTask = "development_task";
    public const string DevelopmentTestFailure = "development_test_failure";
    public const string DevelopmentReviewFeedback = "development_review_feedback";
    public const string DevelopmentSecretScan = "development_secret_scan";
    public const string ReviewSystem = "review_system";
    public const string ReviewTask = "review_task";
    public const string PlanningSystem = "planning_system";
    public const string PlanningTask = "planning_task";
    public const string HotfixInstructions = "hotfix_instructions";
    public const string DocumentationInstructions = "documentation_instructions";

    /// <summary>A system or user message of an agent: only its own name selects it.</summary>
    public const string AgentKind = "agent";

    /// <summary>Extra instructions for the development agent, selected by a step's <c>prompt_template:</c>.</summary>
    public const string InstructionsKind = "instructions";

    private static readonly IReadOnlyDictionary<string, string> s_instructionVariables = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["task"] = "the task: id, title, description (title and description untrusted), branch, source, external_id",
        ["project"] = "the task's project: id, name, repository_url, default_branch, test_command (empty values when the task has none)",
        ["step"] = "the workflow step's name",
    };

    /// <summary>The members of a step instruction template's model that hold third-party text.</summary>
    private static readonly string[] s_instructionUntrusted = ["task.title", "task.description"];

    private const string TaskSourceDescription = "where the task came from, as a label for its untrusted_input block: api_task, jira_task, github_task, slack_task…";

    public static IReadOnlyList<PromptDefinition> BuiltIn { get; } =
    [
        new(DevelopmentSystem, AgentKind, "the development agent's system prompt",
            Variables(("instructions", "the step's instructions: its prompt_template rendered, then its instructions input (empty when neither)")),
            DevelopmentSystemModel("Keep the public API unchanged.")),
        new(DevelopmentTask, AgentKind, "the development agent's first user message: the task",
            Variables(("task", "the task's title and description (as written by its author; untrusted)"), ("task_source", TaskSourceDescription)),
            DevelopmentTaskModel("Add a --version flag\n\nPrint the version and exit 0.", "jira")) { Untrusted = ["task"] },
        new(DevelopmentTestFailure, AgentKind, "sent to the development agent when the project's tests fail after its change",
            Variables(("command", "the test command"), ("test_output", "the command, its exit code and output (cut to AGENT_TOOL_OUTPUT_CHARS)")),
            DevelopmentTestFailureModel("dotnet test", "$ dotnet test\nexit code 1\nFailed Tests.Version\n")) { Untrusted = ["test_output"] },
        new(DevelopmentSecretScan, AgentKind, "sent to the development agent when the secret scan finds possible secrets in its change",
            Variables(("findings", "each finding as path:line rule (never the value; a list of text)")),
            DevelopmentSecretScanModel(["src/Settings.cs:12 github-token"])),
        new(DevelopmentReviewFeedback, AgentKind, "sent to the development agent when the review requests changes",
            Variables(("reasons", "the reviewer's reasons (a list of text)"), ("summary", "the reviewer's summary (may be empty)")),
            DevelopmentReviewFeedbackModel(["the flag is not documented"], "Document the flag.")),
        new(ReviewSystem, AgentKind, "the review agent's system prompt", Variables(), new Dictionary<string, object?>()),
        new(ReviewTask, AgentKind, "the review agent's user message: the task, the diff and the test report",
            Variables(("task", "the task's title and description (untrusted)"), ("task_source", TaskSourceDescription),
                ("diff", $"the diff to review (cut to head and tail at {ReviewAgent.MaxDiffChars:N0} characters; empty when there are no changes; untrusted)"),
                ("tests", "the test report (cut to 4,000 characters; empty when there is none; untrusted)")),
            ReviewTaskModel("Add a --version flag", "jira", "diff --git a/Program.cs b/Program.cs\n+Console.WriteLine(Version);\n", "1 passed")) { Untrusted = ["task", "diff", "tests"] },
        new(PlanningSystem, AgentKind, "the planning agent's system prompt", Variables(), new Dictionary<string, object?>()),
        new(PlanningTask, AgentKind, "the planning agent's user message",
            Variables(("request_json", "the project and the requirements as one JSON object (what the default template sends)"),
                ("project", "name, description, tech_stack (a list), repository_url"), ("requirements", "the requirements (a list of text)")),
            PlanningTaskModel(new PlanningProject("shop", "An online shop", ["C#"], "https://example.com/shop.git"), ["Customers can pay by card"])) { Untrusted = ["request_json", "project", "requirements"] },
        new(HotfixInstructions, InstructionsKind, "the hotfix workflow's instructions to the development agent", s_instructionVariables, SampleInstructionsModel()) { Untrusted = s_instructionUntrusted },
        new(DocumentationInstructions, InstructionsKind, "the documentation-only workflow's instructions to the development agent", s_instructionVariables, SampleInstructionsModel()) { Untrusted = s_instructionUntrusted },
    ];

    /// <summary>The definition of a step instruction template that is only a file in PROMPTS_DIR.</summary>
    public static PromptDefinition Instructions(string name) =>
        new(name, InstructionsKind, "step instructions (a workflow step's prompt_template:)", s_instructionVariables, SampleInstructionsModel()) { Untrusted = s_instructionUntrusted };

    public static PromptDefinition? Find(string name) => BuiltIn.FirstOrDefault(d => d.Name == name);

    public static Dictionary<string, object?> DevelopmentSystemModel(string? instructions) => new(StringComparer.Ordinal)
    {
        ["instructions"] = instructions ?? string.Empty,
    };

    public static Dictionary<string, object?> DevelopmentTaskModel(string task, string source) => new(StringComparer.Ordinal)
    {
        ["task"] = task,
        ["task_source"] = TaskSource(source),
    };

    /// <summary>The label of a task's untrusted block: its intake source and <c>_task</c> (<c>jira_task</c>).</summary>
    public static string TaskSource(string source) => (source.Length == 0 ? "api" : source) + "_task";

    public static Dictionary<string, object?> DevelopmentTestFailureModel(string command, string testOutput) => new(StringComparer.Ordinal)
    {
        ["command"] = command,
        ["test_output"] = testOutput,
    };

    public static Dictionary<string, object?> DevelopmentSecretScanModel(IReadOnlyList<string> findings) => new(StringComparer.Ordinal)
    {
        ["findings"] = findings.ToList(),
    };

    public static Dictionary<string, object?> DevelopmentReviewFeedbackModel(IReadOnlyList<string> reasons, string summary) => new(StringComparer.Ordinal)
    {
        ["reasons"] = reasons.ToList(),
        ["summary"] = summary,
    };

    public static Dictionary<string, object?> ReviewTaskModel(string task, string source, string diff, string tests) => new(StringComparer.Ordinal)
    {
        ["task"] = task,
        ["task_source"] = TaskSource(source),
        ["diff"] = diff,
        ["tests"] = tests,
    };

    private static readonly JsonSerializerOptions s_requestJson = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = true,
    };

    public static Dictionary<string, object?> PlanningTaskModel(PlanningProject project, IReadOnlyList<string> requirements) => new(StringComparer.Ordinal)
    {
        ["request_json"] = PlanningRequestJson(project, requirements),
        ["project"] = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["name"] = project.Name,
            ["description"] = project.Description ?? string.Empty,
            ["tech_stack"] = project.TechStack.ToList(),
            ["repository_url"] = project.RepositoryUrl ?? string.Empty,
        },
        ["requirements"] = requirements.ToList(),
    };

    /// <summary>The project and the requirements as one JSON object, so that they stay data.</summary>
    public static string PlanningRequestJson(PlanningProject project, IReadOnlyList<string> requirements) => JsonSerializer.Serialize(
        new JsonObject
        {
            ["project"] = new JsonObject
            {
                ["name"] = project.Name,
                ["description"] = project.Description,
                ["tech_stack"] = new JsonArray([.. project.TechStack.Select(s => (JsonNode?)JsonValue.Create(s))]),
                ["repository_url"] = project.RepositoryUrl,
            },
            ["requirements"] = new JsonArray([.. requirements.Select(r => (JsonNode?)JsonValue.Create(r))]),
        },
        s_requestJson);

    public static Dictionary<string, object?> InstructionsModel(WorkflowTaskInfo task, WorkflowProjectInfo? project, string step) => new(StringComparer.Ordinal)
    {
        ["task"] = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["id"] = task.Id,
            ["title"] = task.Title,
            ["description"] = task.Description ?? string.Empty,
            ["branch"] = task.Branch ?? string.Empty,
            ["source"] = task.Source,
            ["external_id"] = task.ExternalId ?? string.Empty,
        },
        ["project"] = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["id"] = project?.Id ?? 0L,
            ["name"] = project?.Name ?? string.Empty,
            ["repository_url"] = project?.RepositoryUrl ?? string.Empty,
            ["default_branch"] = project?.DefaultBranch ?? string.Empty,
            ["test_command"] = project?.TestCommand ?? string.Empty,
        },
        ["step"] = step,
    };

    private static Dictionary<string, object?> SampleInstructionsModel() => InstructionsModel(
        new WorkflowTaskInfo(42, "Fix the crash on empty input", "It crashes.", "hotfix/42", "api", "SHOP-42"),
        new WorkflowProjectInfo(7, "shop", "https://example.com/shop.git", "main", "dotnet test"),
        "implement");

    private static Dictionary<string, string> Variables(params (string Name, string Description)[] variables) =>
        variables.ToDictionary(v => v.Name, v => v.Description, StringComparer.Ordinal);
}
