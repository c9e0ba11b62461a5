namespace DevOrchestrator.Abstractions;

/// <summary>
/// A plugin's workflow actions, callable from a workflow as <c>plugin_action</c> steps named <c>{Plugin}.{action}</c>
/// (for example <c>workspace.prepare</c>).
/// </summary>
public interface IWorkflowActions
{
    /// <summary>The plugin name used in workflow files (<c>plugin: workspace</c>).</summary>
    string Plugin { get; }

    /// <summary>The actions this plugin offers, with the inputs each requires (for validation).</summary>
    IReadOnlyDictionary<string, WorkflowActionDescriptor> Actions { get; }

    /// <summary>Runs one action. Throws <see cref="WorkflowActionException"/> for a failure the user should read.</summary>
    Task<IReadOnlyDictionary<string, object?>> InvokeAsync(string action, WorkflowActionContext context, CancellationToken cancellationToken);

    /// <summary>Undoes a completed action when a later step fails with <c>on_error: rollback</c>. Default: nothing to undo.</summary>
    Task RollbackAsync(string action, WorkflowActionContext context, IReadOnlyDictionary<string, object?> outputs, CancellationToken cancellationToken) =>
        Task.CompletedTask;
}

/// <summary>What a workflow validator needs to know about an action.</summary>
public sealed record WorkflowActionDescriptor(string Description, IReadOnlyList<string> RequiredInputs, IReadOnlyList<string> OptionalInputs)
{
    /// <summary>The inputs that are not text, checked when a workflow is loaded and read with the typed getters.</summary>
    public IReadOnlyDictionary<string, WorkflowInputType> InputTypes { get; init; } = new Dictionary<string, WorkflowInputType>();
}

/// <summary>The type of a workflow input that is not text.</summary>
public enum WorkflowInputType
{
    /// <summary><c>true</c> or <c>false</c>.</summary>
    Boolean,

    /// <summary>A whole number, 0 or more.</summary>
    WholeNumber,

    /// <summary>A whole number, 1 or more.</summary>
    PositiveNumber,
}

/// <summary>
/// Reads typed input values the same way at load time (literals in the YAML, which YAML already typed) and at run
/// time (values that came through a <c>${…}</c> reference, which may be text such as <c>"true"</c> or <c>"30"</c>).
/// </summary>
public static class WorkflowInputValues
{
    /// <summary>Why <paramref name="value"/> is not a valid <paramref name="type"/>, or null when it is.</summary>
    public static string? Problem(string input, WorkflowInputType type, object? value) => type switch
    {
        WorkflowInputType.Boolean => TryBoolean(value, out _) ? null : $"input '{input}' must be true or false (got {Describe(value)})",
        WorkflowInputType.WholeNumber => TryNumber(value, out var n) && n >= 0 ? null : $"input '{input}' must be a whole number, 0 or more (got {Describe(value)})",
        _ => TryNumber(value, out var p) && p >= 1 ? null : $"input '{input}' must be a whole number, 1 or more (got {Describe(value)})",
    };

    public static bool TryBoolean(object? value, out bool result)
    {
        switch (value)
        {
            case bool b:
                result = b;
                return true;
            case string text when bool.TryParse(text.Trim(), out var parsed):
                result = parsed;
                return true;
            default:
                result = false;
                return false;
        }
    }

    public static bool TryNumber(object? value, out long result)
    {
        switch (value)
        {
            case long l:
                result = l;
                return true;
            case int i:
                result = i;
                return true;
            case string text when long.TryParse(text.Trim(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var parsed):
                result = parsed;
                return true;
            default:
                result = 0;
                return false;
        }
    }

    /// <summary>A value as text: booleans as <c>true</c>/<c>false</c> (as written in YAML), numbers in the invariant culture.</summary>
    public static string? Text(object? value) => value switch
    {
        null => null,
        string s => s,
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    private static string Describe(object? value) => value switch
    {
        null => "nothing",
        string s => $"'{s}'",
        System.Collections.IDictionary => "a mapping",
        System.Collections.IEnumerable => "a list",
        _ => Text(value)!,
    };
}

/// <summary>Everything an action may read: its resolved inputs and the task it works for.</summary>
public sealed class WorkflowActionContext
{
    public required WorkflowTaskInfo Task { get; init; }
    public WorkflowProjectInfo? Project { get; init; }
    public required long WorkflowExecutionId { get; init; }

    /// <summary>The agent execution (the worker's run of the task) this step belongs to.</summary>
    public long? AgentExecutionId { get; init; }
    public required string StepName { get; init; }
    public required IReadOnlyDictionary<string, object?> Inputs { get; init; }

    /// <summary>Outputs of the steps that completed before this one, by step name.</summary>
    public required IReadOnlyDictionary<string, IReadOnlyDictionary<string, object?>> StepOutputs { get; init; }

    /// <summary>Reports progress lines (stored as events).</summary>
    public IProgress<string>? Progress { get; init; }

    public string? GetString(string input) => Inputs.TryGetValue(input, out var value) ? WorkflowInputValues.Text(value) : null;

    /// <summary>A <see cref="WorkflowInputType.Boolean"/> input, or <paramref name="absent"/> when it is not given.</summary>
    public bool GetBoolean(string input, bool absent)
    {
        if (!Inputs.TryGetValue(input, out var value) || value is null)
        {
            return absent;
        }

        return WorkflowInputValues.TryBoolean(value, out var result)
            ? result
            : throw new WorkflowActionException(WorkflowInputValues.Problem(input, WorkflowInputType.Boolean, value)!);
    }

    /// <summary>A number input of type <paramref name="type"/>, or null when it is not given.</summary>
    public long? GetNumber(string input, WorkflowInputType type)
    {
        if (!Inputs.TryGetValue(input, out var value) || value is null || value is string { Length: 0 })
        {
            return null;
        }

        return WorkflowInputValues.Problem(input, type, value) is { } problem
            ? throw new WorkflowActionException(problem)
            : WorkflowInputValues.TryNumber(value, out var number) ? number : null;
    }

    public string RequireString(string input) =>
        GetString(input) is { Length: > 0 } value ? value : throw new WorkflowActionException($"input '{input}' is required");
}

public sealed record WorkflowTaskInfo(long Id, string Title, string? Description, string? Branch, string Source, string? ExternalId)
{
    /// <summary>The user who created the task, if a user did.</summary>
    public long? CreatedByUserId { get; init; }
}

public sealed record WorkflowProjectInfo(long Id, string Name, string? RepositoryUrl, string DefaultBranch, string? TestCommand)
{
    /// <summary>The integration mapping: the tracker project, chat channel and documentation space of the project.</summary>
    public string? JiraProjectKey { get; init; }
    public string? SlackChannel { get; init; }
    public string? ConfluenceSpaceKey { get; init; }
    public string? ConfluenceParentId { get; init; }

    /// <summary>Commands of the per-worktree setup phase (run with network, before the agent works).</summary>
    public IReadOnlyList<string> SetupCommands { get; init; } = [];
}

/// <summary>A failure of an action that is the user's to fix (bad input, failed command); its message is shown as is.</summary>
public class WorkflowActionException : Exception
{
    public WorkflowActionException(string message) : base(message) { }
    public WorkflowActionException(string message, Exception innerException) : base(message, innerException) { }
    public WorkflowActionException() { }

    /// <summary>Outputs to keep even though the action failed (e.g. a command's exit code and output).</summary>
    public IReadOnlyDictionary<string, object?>? Outputs { get; init; }
}

/// <summary>
/// Thrown by an action that has nothing to do here — its plugin is not configured, the task has no ticket — so the
/// step is recorded as skipped with this message as a visible note, and the workflow goes on.
/// </summary>
public sealed class WorkflowStepSkippedException : Exception
{
    public WorkflowStepSkippedException() { }
    public WorkflowStepSkippedException(string message) : base(message) { }
    public WorkflowStepSkippedException(string message, Exception innerException) : base(message, innerException) { }
}
