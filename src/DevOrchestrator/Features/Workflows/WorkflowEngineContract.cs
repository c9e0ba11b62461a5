using Microsoft.Extensions.DependencyInjection.Extensions;

namespace DevOrchestrator.Features.Workflows;

/// <summary>What a worker asks the engine to run.</summary>
public sealed record WorkflowRun(long TaskId, long WorkflowExecutionId, long AgentExecutionId, string WorkerId);

/// <summary>How a run ended: <c>completed</c>, <c>failed</c> or <c>cancelled</c>.</summary>
public sealed record WorkflowOutcome(string Status, string? Error, IReadOnlyDictionary<string, object?> Result);

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
