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
public sealed record WorkflowActionDescriptor(string Description, IReadOnlyList<string> RequiredInputs, IReadOnlyList<string> OptionalInputs);

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

    public string? GetString(string input) => Inputs.TryGetValue(input, out var value) ? value?.ToString() : null;

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
