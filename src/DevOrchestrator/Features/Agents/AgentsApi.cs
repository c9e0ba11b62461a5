using DevOrchestrator.Data;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Features.Costs;
using DevOrchestrator.Features.Tasks;
using DevOrchestrator.Hosting;
using DevOrchestrator.Features.Workflows;
using Microsoft.AspNetCore.Http.HttpResults;
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

    /// <summary>
    /// <c>GET /api/v1/agents/status?task_id=</c>: the guide's way to follow a task's agent. <c>status</c> is the task's;
    /// <c>agent</c> is its latest agent execution (null before a worker started one).
    /// </summary>
    public sealed record TaskAgentStatusResponse(
        long TaskId, string Status, string AgentType, string Workflow, AgentResponse? Agent, AgentProgress Progress, TasksApi.TaskResult Result,
        string? Error, decimal CostUsd, DateTimeOffset? StartedAt, DateTimeOffset? CompletedAt);

    /// <summary>Where the run is: its current step, the steps finished (completed or skipped) of the workflow's total, the last event.</summary>
    public sealed record AgentProgress(string? CurrentStep, int StepsDone, int StepsTotal, LastEvent? LastEvent);

    public sealed record LastEvent(string Type, DateTimeOffset At);

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
        group.MapGet("/status", TaskAgentStatusAsync)
            .WithSummary("The agent working on a task: status, agent type, progress (current step, steps done of total, last event) and result.pr_url. task_id is required; list running agents with GET /api/v1/agents?status=running.")
            .ProducesData<TaskAgentStatusResponse>().ProducesErrors(StatusCodes.Status404NotFound, StatusCodes.Status422UnprocessableEntity);
        return app;
    }

    private static async Task<IResult> ListAsync([AsParameters] PageQuery page, [AsParameters] AgentFilters filters, HttpContext context, AppDbContext db, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        var paging = PageRequest.Read(page, validation, s_sortable);
        var query = VisibleAgents(db, context);
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

    /// <summary>The agent executions of the tasks the caller may see (Features/Auth/Ownership), filtered in SQL.</summary>
    private static IQueryable<AgentExecution> VisibleAgents(AppDbContext db, HttpContext context)
    {
        var agents = db.AgentExecutions.AsNoTracking();
        if (Ownership.IsAdmin(context.User))
        {
            return agents;
        }

        var taskIds = Ownership.VisibleTaskIds(db, context.User);
        return agents.Where(a => taskIds.Contains(a.TaskId));
    }

    private static async Task<IResult> StatusAsync(long id, HttpContext context, AppDbContext db, CancellationToken cancellationToken) =>
        await VisibleAgents(db, context).FirstOrDefaultAsync(a => a.Id == id, cancellationToken) is { } agent
            ? Api.Ok(context, AgentResponse.From(agent))
            : Api.NotFound(context, "Agent execution", id);

    private static async Task<Results<JsonHttpResult<ApiResponse<TaskAgentStatusResponse>>, JsonHttpResult<ApiErrorResponse>>> TaskAgentStatusAsync(
        HttpContext context, AppDbContext db, WorkflowCatalog workflows, CancellationToken cancellationToken)
    {
        // Read by hand (not bound as long?) so that a missing or malformed task_id is a 422 naming the field, not a bare 400.
        var text = context.Request.Query["task_id"].ToString();
        if (!long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var taskId) || taskId <= 0)
        {
            return Api.Error(context, StatusCodes.Status422UnprocessableEntity, ErrorCodes.ValidationError, "The request has invalid parameters.",
                new Dictionary<string, string[]> { ["task_id"] = [text.Length == 0 ? "is required" : "must be a task id (a positive whole number)"] });
        }

        var task = await Ownership.VisibleTasks(db, context.User).AsNoTracking().FirstOrDefaultAsync(t => t.Id == taskId, cancellationToken);
        if (task is null)
        {
            return Api.NotFound(context, "Task", taskId);
        }

        var agent = await db.AgentExecutions.AsNoTracking().Where(a => a.TaskId == taskId).OrderByDescending(a => a.Id).FirstOrDefaultAsync(cancellationToken);
        var execution = await db.WorkflowExecutions.AsNoTracking().Where(w => w.TaskId == taskId).OrderByDescending(w => w.Id)
            .Select(w => new { w.Id, w.WorkflowName, w.CurrentStep }).FirstOrDefaultAsync(cancellationToken);
        var stepsDone = execution is null ? 0 : await db.WorkflowSteps.AsNoTracking()
            .Where(s => s.WorkflowExecutionId == execution.Id && (s.Status == StepStatuses.Completed || s.Status == StepStatuses.Skipped))
            .Select(s => s.Index).Distinct().CountAsync(cancellationToken);
        var last = await db.Events.AsNoTracking().Where(e => e.TaskId == taskId).OrderByDescending(e => e.Id)
            .Select(e => new LastEvent(e.Type, e.CreatedAt)).FirstOrDefaultAsync(cancellationToken);
        var stepsTotal = workflows.Find(execution?.WorkflowName ?? task.Workflow)?.Steps.Count ?? 0;
        var progress = new AgentProgress(agent?.CurrentStep ?? execution?.CurrentStep, stepsDone, Math.Max(stepsTotal, stepsDone), last);
        return Api.Ok(context, new TaskAgentStatusResponse(task.Id, task.Status, agent?.AgentType ?? task.AgentType, execution?.WorkflowName ?? task.Workflow,
            agent is null ? null : AgentResponse.From(agent), progress, TasksApi.TaskResult.From(task), task.Error, Money.ToUsd(task.CostMicros), task.StartedAt, task.CompletedAt));
    }

    private static async Task<IResult> StopAsync(long id, HttpContext context, AppDbContext db, TaskLifecycle lifecycle, CancellationToken cancellationToken)
    {
        var agent = await db.AgentExecutions.AsNoTracking().FirstOrDefaultAsync(a => a.Id == id, cancellationToken);
        if (agent is null)
        {
            return Api.NotFound(context, "Agent execution", id);
        }

        var task = await db.Tasks.FirstAsync(t => t.Id == agent.TaskId, cancellationToken);
        if (Ownership.Refuse(context, await Ownership.TaskAccessAsync(db, context.User, task, cancellationToken), AccessLevel.Write, "Agent execution", id) is { } refused)
        {
            return refused;
        }

        if (agent.Status != AgentStatuses.Running)
        {
            return Api.Conflict(context, $"Agent execution {id} is not running ({agent.Status}).");
        }

        var status = await lifecycle.CancelAsync(task, $"agent {id} stopped by {context.User.FindFirst("email")?.Value ?? "a user"}");
        return Api.Ok(context, new { id, task_id = agent.TaskId, task_status = status ?? task.Status, stop_requested = true }, "Stop requested.",
            statusCode: StatusCodes.Status202Accepted);
    }
}
