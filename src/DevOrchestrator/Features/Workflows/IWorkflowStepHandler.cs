using DevOrchestrator.Abstractions;

namespace DevOrchestrator.Features.Workflows;

/// <summary>
/// Runs steps of a type other than <c>plugin_action</c> (the agents issue registers the <c>ai_action</c> handler). A
/// step type is valid only when a handler for it is registered.
/// </summary>
public interface IWorkflowStepHandler
{
    /// <summary>The step type it runs, e.g. <c>ai_action</c>.</summary>
    string Type { get; }

    /// <summary>The step keys it reads besides the common ones (name, type, inputs, outputs, when, on_error, retry_count).</summary>
    IReadOnlyList<string> Keys { get; }

    /// <summary>The inputs that are not text, checked when a workflow is loaded (any other input is allowed).</summary>
    IReadOnlyDictionary<string, WorkflowInputType> InputTypes => new Dictionary<string, WorkflowInputType>();

    /// <summary>A problem with the step as written (checked when a workflow is loaded or validated), or null.</summary>
    string? Check(WorkflowStepDefinition step) => null;

    /// <summary>Why the step cannot run now (checked before a run's first step, so that a task fails at once), or null.</summary>
    string? Preflight(WorkflowStepDefinition step) => null;

    Task<IReadOnlyDictionary<string, object?>> RunAsync(WorkflowStepDefinition step, WorkflowActionContext context, CancellationToken cancellationToken);
}
