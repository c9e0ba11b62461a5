using System.Text.Json;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Features.Workflows;
using DevOrchestrator.Hosting;

namespace DevOrchestrator.Features.Tasks;

/// <summary>
/// <c>POST /api/v1/workflows/execute</c>: runs a workflow for an existing task by queueing the task with it. It sits
/// under <c>/api/v1/workflows</c> (the guide's path) but is a task operation, so it lives with the tasks.
/// </summary>
public static class WorkflowExecuteApi
{
    public sealed record ExecuteRequest(string? Workflow, long? TaskId, Dictionary<string, JsonElement>? Variables);

    public static IEndpointRouteBuilder MapWorkflowExecuteApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/workflows").WithTags("Workflows").RequireAuthorization(Roles.CanView);
        group.MapPost("/execute", ExecuteAsync).RequireAuthorization(Roles.CanOperate).WithSummary("Run a workflow for a task (queues the task).")
            .ProducesData<WorkflowsApi.ExecutionResponse>(StatusCodes.Status202Accepted).ProducesErrors(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<IResult> ExecuteAsync(ExecuteRequest request, HttpContext context, AppDbContext db, TaskLifecycle lifecycle, WorkflowCatalog catalog, CancellationToken cancellationToken)
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

        var (task, refused) = await TasksApi.FindWritableAsync(db, context, request.TaskId!.Value, cancellationToken);
        if (task is null)
        {
            return refused!;
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
        return Api.Ok(context, WorkflowsApi.ExecutionResponse.From(execution), "Workflow queued.", statusCode: StatusCodes.Status202Accepted);
    }
}
