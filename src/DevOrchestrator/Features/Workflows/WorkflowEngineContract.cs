namespace DevOrchestrator.Features.Workflows;

// The surface the rest of the service uses from the workflow engine. The engine fills these in.

/// <summary>A parsed workflow definition (built-in or from WORKFLOWS_DIR).</summary>
public sealed class WorkflowDefinition
{
    public required string Name { get; init; }
    public string? Description { get; init; }

    /// <summary><c>builtin</c> or the file it came from.</summary>
    public required string Source { get; init; }
    public IReadOnlyDictionary<string, object?> Variables { get; init; } = new Dictionary<string, object?>();
    public IReadOnlyList<WorkflowStepDefinition> Steps { get; init; } = [];
}

public sealed class WorkflowStepDefinition
{
    public required string Name { get; init; }
    public required string Type { get; init; }
    public string? Plugin { get; init; }
    public string? Action { get; init; }
}

/// <summary>Which workflows exist.</summary>
public sealed class WorkflowCatalog
{
    public IReadOnlyList<WorkflowDefinition> List() => [];

    public WorkflowDefinition? Find(string name) => List().FirstOrDefault(w => w.Name == name);
}

/// <summary>What a worker asks the engine to run.</summary>
public sealed record WorkflowRun(long TaskId, long WorkflowExecutionId, long AgentExecutionId, string WorkerId);

/// <summary>How a run ended: <c>completed</c>, <c>failed</c> or <c>cancelled</c>.</summary>
public sealed record WorkflowOutcome(string Status, string? Error, IReadOnlyDictionary<string, object?> Result);

/// <summary>Runs a workflow execution step by step, persisting each step.</summary>
public sealed class WorkflowRunner
{
    public Task<WorkflowOutcome> RunAsync(WorkflowRun run, CancellationToken cancellationToken) =>
        Task.FromResult(new WorkflowOutcome(WorkflowStatuses.Completed, null, new Dictionary<string, object?>()));
}

public static class WorkflowServiceCollectionExtensions
{
    public static IServiceCollection AddWorkflows(this IServiceCollection services)
    {
        services.AddSingleton<WorkflowCatalog>();
        services.AddScoped<WorkflowRunner>();
        return services;
    }
}
