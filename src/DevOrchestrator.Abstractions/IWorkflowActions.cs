namespace DevOrchestrator.Abstractions;

/// <summary>
/// An action set: named workflow actions, callable from a workflow as <c>plugin_action</c> steps named
/// <c>{Plugin}.{action}</c> (for example <c>workspace.prepare</c>). A vendor plugin's action set carries the plugin's
/// name (<c>github</c>, <c>jira</c>…); <c>workspace</c> is built in and is no plugin (docs/architecture.md, glossary).
/// </summary>
public interface IWorkflowActions
{
    /// <summary>The action set's name, the <c>plugin:</c> key of workflow files (<c>plugin: workspace</c>).</summary>
    string Plugin { get; }

    /// <summary>The actions of this set, with the inputs each requires (for validation).</summary>
    IReadOnlyDictionary<string, WorkflowActionDescriptor> Actions { get; }

    /// <summary>Runs one action. Throws <see cref="WorkflowActionException"/> for a failure the user should read.</summary>
    Task<IReadOnlyDictionary<string, object?>> InvokeAsync(string action, WorkflowActionContext context, CancellationToken cancellationToken);

    /// <summary>Undoes a completed action when a later step fails with <c>on_error: rollback</c>. Default: nothing to undo.</summary>
    Task RollbackAsync(string action, WorkflowActionContext context, IReadOnlyDictionary<string, object?> outputs, CancellationToken cancellationToken) =>
        Task.CompletedTask;
}
