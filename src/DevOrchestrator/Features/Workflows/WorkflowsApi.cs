using System.Text.Json;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Features.Tasks;
using DevOrchestrator.Hosting;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Workflows;

/// <summary><c>/api/v1/workflows</c>: the workflows that exist, executing one for a task, and an execution's status.</summary>
public static class WorkflowsApi
{
    public sealed record ExecuteRequest(string? Workflow, long? TaskId, Dictionary<string, JsonElement>? Variables);

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
                TasksApi.ParseJson(s.Inputs), TasksApi.ParseJson(s.Outputs), s.Error, s.Attempts, s.StartedAt, s.CompletedAt, s.DurationMs)).ToList());
    }

    public static IEndpointRouteBuilder MapWorkflowsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/workflows").WithTags("Workflows").RequireAuthorization(Roles.CanView);
        group.MapGet("/", (HttpContext context, WorkflowCatalog catalog) => Api.Ok(context, catalog.List().Select(w => new WorkflowResponse(
            w.Name, w.Description, w.Source, w.Variables, w.Steps.Select(s => new WorkflowStepResponse(s.Name, s.Type, s.Plugin, s.Action)).ToList())).ToList()))
            .WithSummary("List the built-in workflows and those in WORKFLOWS_DIR.").ProducesData<List<WorkflowResponse>>();
        group.MapPost("/execute", ExecuteAsync).RequireAuthorization(Roles.CanOperate).WithSummary("Run a workflow for a task (queues the task).")
            .ProducesData<ExecutionResponse>(StatusCodes.Status202Accepted).ProducesErrors(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        group.MapGet("/{id:long}/status", StatusAsync).WithSummary("Status of a workflow execution, with each step's inputs, outputs and timing.")
            .ProducesData<ExecutionResponse>().ProducesErrors(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<IResult> ExecuteAsync(ExecuteRequest request, HttpContext context, AppDbContext db, Tasks.TaskLifecycle lifecycle, WorkflowCatalog catalog, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("workflow", request.Workflow, 200);
        if (request.Workflow is { Length: > 0 } name && catalog.Find(name) is null)
        {
            validation.Add("workflow", $"unknown workflow; known: {string.Join(", ", catalog.List().Select(w => w.Name))}");
        }

        if (request.TaskId is null)
        {
            validation.Add("task_id", "is required");
        }

        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        var task = await db.Tasks.FirstOrDefaultAsync(t => t.Id == request.TaskId, cancellationToken);
        if (task is null)
        {
            return Api.NotFound(context, "Task", request.TaskId!);
        }

        if (task.Status is TaskStatuses.Queued or TaskStatuses.Running)
        {
            return Api.Conflict(context, $"Task {task.Id} is already {task.Status}.");
        }

        var variables = request.Variables is null ? null : JsonSerializer.Serialize(request.Variables, JsonDefaults.Options);
        var execution = await lifecycle.QueueAsync(task, request.Workflow!, variables, checkActiveTaskLimit: true);
        if (execution is null)
        {
            return Api.Conflict(context, $"Task {task.Id} was queued by another request meanwhile.");
        }

        context.Response.Headers.Location = $"/api/v1/workflows/{execution.Id}/status";
        return Api.Ok(context, ExecutionResponse.From(execution), "Workflow queued.", statusCode: StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> StatusAsync(long id, HttpContext context, AppDbContext db, CancellationToken cancellationToken) =>
        await db.WorkflowExecutions.AsNoTracking().Include(w => w.Steps).FirstOrDefaultAsync(w => w.Id == id, cancellationToken) is { } execution
            ? Api.Ok(context, ExecutionResponse.From(execution))
            : Api.NotFound(context, "Workflow execution", id);
}
