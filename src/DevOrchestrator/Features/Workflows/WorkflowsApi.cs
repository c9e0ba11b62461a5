using System.Text.Json;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Hosting;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Workflows;

/// <summary>
/// <c>/api/v1/workflows</c>: the workflows that exist and an execution's status. Executing one queues a task, so that
/// route lives with the tasks (<see cref="Tasks.WorkflowExecuteApi"/>).
/// </summary>
public static class WorkflowsApi
{
    public sealed record WorkflowStepResponse(string Name, string Type, string? Plugin, string? Action);

    public sealed record WorkflowResponse(string Name, string? Description, string Source, IReadOnlyDictionary<string, object?> Variables, IReadOnlyList<WorkflowStepResponse> Steps);

    public sealed record StepResponse(
        long Id, int Index, string Name, string Type, string? Plugin, string? Action, string Status, JsonElement? Inputs, JsonElement? Outputs,
        string? Error, int Attempts, DateTimeOffset StartedAt, DateTimeOffset? CompletedAt, long? DurationMs);

    public sealed record ExecutionResponse(
        long Id, long TaskId, string Workflow, string Status, string? CurrentStep, string? Error, DateTimeOffset CreatedAt,
        DateTimeOffset? StartedAt, DateTimeOffset? CompletedAt, IReadOnlyList<StepResponse> Steps)
    {
        public static ExecutionResponse From(WorkflowExecution w) => new(w.Id, w.TaskId, w.WorkflowName, w.Status, w.CurrentStep, w.Error, w.CreatedAt,
            w.StartedAt, w.CompletedAt,
            w.Steps.OrderBy(s => s.Index).ThenBy(s => s.Id).Select(s => new StepResponse(s.Id, s.Index, s.Name, s.Type, s.Plugin, s.Action, s.Status,
                JsonDefaults.ParseStored(s.Inputs), JsonDefaults.ParseStored(s.Outputs), s.Error, s.Attempts, s.StartedAt, s.CompletedAt, s.DurationMs)).ToList());
    }

    public static IEndpointRouteBuilder MapWorkflowsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/workflows").WithTags("Workflows").RequireAuthorization(Roles.CanView);
        group.MapGet("/", (HttpContext context, WorkflowCatalog catalog) => Api.Ok(context, catalog.List().Select(w => new WorkflowResponse(
            w.Name, w.Description, w.Source, w.Variables, w.Steps.Select(s => new WorkflowStepResponse(s.Name, s.Type, s.Plugin, s.Action)).ToList())).ToList()))
            .WithSummary("List the built-in workflows and those in WORKFLOWS_DIR.").ProducesData<List<WorkflowResponse>>();
        group.MapGet("/{id:long}/status", StatusAsync).WithSummary("Status of a workflow execution, with each step's inputs, outputs and timing.")
            .ProducesData<ExecutionResponse>().ProducesErrors(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<IResult> StatusAsync(long id, HttpContext context, AppDbContext db, CancellationToken cancellationToken)
    {
        // An execution of a task the caller may not see answers 404 (Features/Auth/Ownership).
        var executions = db.WorkflowExecutions.AsNoTracking().Include(w => w.Steps).AsQueryable();
        if (!Ownership.IsAdmin(context.User))
        {
            var taskIds = Ownership.VisibleTaskIds(db, context.User);
            executions = executions.Where(w => taskIds.Contains(w.TaskId));
        }

        return await executions.FirstOrDefaultAsync(w => w.Id == id, cancellationToken) is { } execution
            ? Api.Ok(context, ExecutionResponse.From(execution))
            : Api.NotFound(context, "Workflow execution", id);
    }
}
