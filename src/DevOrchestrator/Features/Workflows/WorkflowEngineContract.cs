using Microsoft.Extensions.DependencyInjection.Extensions;

namespace DevOrchestrator.Features.Workflows;

/// <summary>What a worker asks the engine to run.</summary>
public sealed record WorkflowRun(long TaskId, long WorkflowExecutionId, long AgentExecutionId, string WorkerId);

/// <summary>How a run ended. Stored on the execution row as the matching <see cref="WorkflowStatuses"/> string (<see cref="WorkflowStatuses.Of"/>).</summary>
public enum WorkflowRunStatus
{
    Completed,
    Failed,
    Cancelled,

    /// <summary>A step met the task's cost budget: the run stopped whatever the step's <c>on_error</c> said.</summary>
    BudgetExceeded,
}

/// <summary>
/// How a run ended, and the task's <c>result</c> (<see cref="Result"/>, stored as JSON as it is). <see cref="Branch"/> is
/// the branch the work is on (also <c>result.branch</c>), when a step reported one.
/// </summary>
public sealed record WorkflowOutcome(WorkflowRunStatus Status, string? Error, IReadOnlyDictionary<string, object?> Result)
{
    public string? Branch { get; init; }
}

public static class WorkflowServiceCollectionExtensions
{
    public static IServiceCollection AddWorkflows(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<WorkflowValidator>();
        services.TryAddSingleton<WorkflowCatalog>();
        services.TryAddScoped<WorkflowRunner>();
        return services;
    }
}
