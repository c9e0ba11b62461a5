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
