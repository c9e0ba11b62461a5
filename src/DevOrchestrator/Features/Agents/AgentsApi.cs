using DevOrchestrator.Data;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Features.Costs;
using DevOrchestrator.Features.Tasks;
using DevOrchestrator.Hosting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Agents;

/// <summary><c>/api/v1/agents</c>: the agent executions that exist (one per run of a task), their status, and stopping one.</summary>
public static class AgentsApi
{
    public sealed record AgentResponse(long Id, long TaskId, long? WorkflowExecutionId, string AgentType, string Status, string? WorkerId,
        string? CurrentStep, string? Error, DateTimeOffset StartedAt, DateTimeOffset? CompletedAt, decimal CostUsd)
    {
        public static AgentResponse From(AgentExecution a) =>
            new(a.Id, a.TaskId, a.WorkflowExecutionId, a.AgentType, a.Status, a.WorkerId, a.CurrentStep, a.Error, a.StartedAt, a.CompletedAt,
                Money.ToUsd(a.CostMicros));
    }

    public sealed record StopResponse(long Id, long TaskId, string TaskStatus, bool StopRequested);

    /// <summary>The filters of <c>GET /api/v1/agents</c>, bound as text so that one answer names every bad value.</summary>
    public sealed record AgentFilters(
        [FromQuery(Name = "status")] string? Status,
        [FromQuery(Name = "agent_type")] string? AgentType,
        [FromQuery(Name = "task_id")] string? TaskId);

    private static readonly string[] s_sortable = ["started_at", "id", "status"];

    public static IEndpointRouteBuilder MapAgentsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/agents").WithTags("Agents").RequireAuthorization(Roles.CanView);
        group.MapGet("/", ListAsync).WithSummary("List agent executions; filters status, task_id, agent_type.")
            .WithMetadata(new SortableFields(s_sortable)).ProducesData<List<AgentResponse>>();
        group.MapGet("/{id:long}/status", StatusAsync).WithSummary("Status of an agent execution.")
            .ProducesData<AgentResponse>().ProducesErrors(StatusCodes.Status404NotFound);
        group.MapPost("/{id:long}/stop", StopAsync).RequireAuthorization(Roles.CanOperate).WithSummary("Stop a running agent (cancels its task).")
            .ProducesData<StopResponse>(StatusCodes.Status202Accepted).ProducesErrors(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<IResult> ListAsync([AsParameters] PageQuery page, [AsParameters] AgentFilters filters, HttpContext context, AppDbContext db, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        var paging = PageRequest.Read(page, validation, s_sortable);
        var query = db.AgentExecutions.AsNoTracking();
        if (filters.Status is { Length: > 0 } status)
        {
            validation.OneOf("status", status, [AgentStatuses.Running, AgentStatuses.Completed, AgentStatuses.Failed, AgentStatuses.Stopped, AgentStatuses.Abandoned]);
            query = query.Where(a => a.Status == status);
        }

        if (filters.AgentType is { Length: > 0 } agentType)
        {
            query = query.Where(a => a.AgentType == agentType);
        }

        if (filters.TaskId is { Length: > 0 } taskText)
        {
            if (long.TryParse(taskText, out var taskId))
            {
                query = query.Where(a => a.TaskId == taskId);
            }
            else
            {
                validation.Add("task_id", "must be a task id (a whole number)");
            }
        }

        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        var total = await query.LongCountAsync(cancellationToken);
        var ordered = paging.Sort switch
        {
            "status" => paging.Descending ? query.OrderByDescending(a => a.Status) : query.OrderBy(a => a.Status),
            "id" => paging.Descending ? query.OrderByDescending(a => a.Id) : query.OrderBy(a => a.Id),
            _ => paging.Descending ? query.OrderByDescending(a => a.StartedAt) : query.OrderBy(a => a.StartedAt),
        };
        var items = await ordered.ThenByDescending(a => a.Id).Skip((paging.Page - 1) * paging.PerPage).Take(paging.PerPage).ToListAsync(cancellationToken);
        return Api.Ok(context, items.Select(AgentResponse.From).ToList(), pagination: paging.Describe(total));
    }

    private static async Task<IResult> StatusAsync(long id, HttpContext context, AppDbContext db, CancellationToken cancellationToken) =>
        await db.AgentExecutions.AsNoTracking().FirstOrDefaultAsync(a => a.Id == id, cancellationToken) is { } agent
            ? Api.Ok(context, AgentResponse.From(agent))
            : Api.NotFound(context, "Agent execution", id);

    private static async Task<IResult> StopAsync(long id, HttpContext context, AppDbContext db, TaskLifecycle lifecycle, CancellationToken cancellationToken)
    {
        var agent = await db.AgentExecutions.AsNoTracking().FirstOrDefaultAsync(a => a.Id == id, cancellationToken);
        if (agent is null)
        {
            return Api.NotFound(context, "Agent execution", id);
        }

        if (agent.Status != AgentStatuses.Running)
        {
            return Api.Conflict(context, $"Agent execution {id} is not running ({agent.Status}).");
        }

        var task = await db.Tasks.FirstAsync(t => t.Id == agent.TaskId, cancellationToken);
        var status = await lifecycle.CancelAsync(task, $"agent {id} stopped by {context.User.FindFirst("email")?.Value ?? "a user"}");
        return Api.Ok(context, new { id, task_id = agent.TaskId, task_status = status ?? task.Status, stop_requested = true }, "Stop requested.",
            statusCode: StatusCodes.Status202Accepted);
    }
}
