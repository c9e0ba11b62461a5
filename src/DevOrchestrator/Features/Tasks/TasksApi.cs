using System.Linq.Expressions;
using System.Text.Json;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Audit;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Features.Costs;
using DevOrchestrator.Features.Workflows;
using DevOrchestrator.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Tasks;

/// <summary><c>/api/v1/tasks</c>: create, list, get, update, assign to an agent (queue) and cancel tasks.</summary>
public static class TasksApi
{
    public const string IdempotencyHeader = "Idempotency-Key";

    public sealed record CreateTaskRequest(
        string? Title,
        string? Description,
        long? ProjectId,
        string? Priority,
        string? Source,
        string? ExternalId,
        string? Workflow,
        string? AgentType,
        Dictionary<string, JsonElement>? Variables,
        bool? AutoStart);

    public sealed record UpdateTaskRequest(string? Title, string? Description, string? Priority, long? ProjectId, Dictionary<string, JsonElement>? Variables);

    public sealed record AssignRequest(string? AgentType, string? Workflow, string? Priority, Dictionary<string, JsonElement>? Variables);

    public sealed record CancelRequest(string? Reason);

    /// <summary>
    /// A task in the guide's shape: its own fields at the top, <c>result</c> always an object (<c>pr_url</c> and
    /// <c>branch</c> null until there is one), its cost in dollars and tokens.
    /// </summary>
    public record TaskResponse(
        long Id, long? ProjectId, string Kind, long? ParentId, string Title, string? Description, string Status, string Source, string? ExternalId, string Priority,
        string Workflow, string AgentType, JsonElement? Variables, TaskResult Result, string? Error, string? Branch, int Attempts,
        string? WorkerId, DateTimeOffset? CancelRequestedAt, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? QueuedAt,
        DateTimeOffset? StartedAt, DateTimeOffset? CompletedAt, decimal CostUsd, decimal CostReservedUsd, TokenUsage TokensUsed)
    {
        public static TaskResponse From(DevTask t, TokenUsage tokens = default) => new(t.Id, t.ProjectId, t.Kind, t.ParentId, t.Title, t.Description, t.Status, t.Source, t.ExternalId, t.Priority,
            t.Workflow, t.AgentType, JsonDefaults.ParseStored(t.Variables), TaskResult.From(t), t.Error, t.Branch, t.Attempts, t.WorkerId, t.CancelRequestedAt,
            t.CreatedAt, t.UpdatedAt, t.QueuedAt, t.StartedAt, t.CompletedAt, Money.ToUsd(t.CostMicros), Money.ToUsd(t.CostReservedMicros), tokens);
    }

    /// <summary><c>GET /api/v1/tasks/{id}</c> and assign-to-agent: the task with its latest workflow execution nested.</summary>
    public sealed record TaskDetailResponse : TaskResponse
    {
        public TaskDetailResponse(TaskResponse task, WorkflowsApi.ExecutionResponse? workflowExecution)
            : base(task) => WorkflowExecution = workflowExecution;

        public WorkflowsApi.ExecutionResponse? WorkflowExecution { get; init; }
    }

    /// <summary>
    /// What the task produced: <c>pr_url</c> and <c>branch</c> always (null until there is one), and once a run ended its
    /// workflow, execution id, step statuses, commit, summary and last review.
    /// </summary>
    public sealed record TaskResult(
        string? PrUrl, string? Branch, string? CommitSha, string? Summary, string? Workflow, long? WorkflowExecutionId,
        IReadOnlyDictionary<string, string>? Steps, JsonElement? Review)
    {
        public static TaskResult From(DevTask t)
        {
            if (t.Result is null)
            {
                return new TaskResult(null, t.Branch, null, null, null, null, null, null);
            }

            using var document = JsonDocument.Parse(t.Result);
            var root = document.RootElement;
            string? Text(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            var steps = root.TryGetProperty("steps", out var s) && s.ValueKind == JsonValueKind.Object
                ? s.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ToString(), StringComparer.Ordinal)
                : null;
            return new TaskResult(
                Text(WorkflowResult.PullRequestUrlOutput),
                Text(WorkflowResult.BranchOutput) ?? t.Branch,
                root.TryGetProperty(WorkflowResult.CommitShaOutput, out var commit) && commit.ValueKind != JsonValueKind.Null ? commit.ToString() : null,
                Text(WorkflowResult.SummaryOutput),
                Text("workflow"),
                root.TryGetProperty("workflow_execution_id", out var e) && e.TryGetInt64(out var executionId) ? executionId : null,
                steps,
                root.TryGetProperty("review", out var review) && review.ValueKind == JsonValueKind.Object ? review.Clone() : null);
        }
    }

    /// <summary>The tokens each task's model calls used (one grouped query for a page of tasks).</summary>
    internal static async Task<Dictionary<long, TokenUsage>> TokensByTaskAsync(AppDbContext db, IReadOnlyCollection<long> taskIds, CancellationToken cancellationToken)
    {
        if (taskIds.Count == 0)
        {
            return [];
        }

        var rows = await db.CostEntries.AsNoTracking().Where(c => c.TaskId != null && taskIds.Contains(c.TaskId.Value)).GroupBy(c => c.TaskId!.Value)
            .Select(g => new { TaskId = g.Key, Input = g.Sum(c => c.InputTokens), Output = g.Sum(c => c.OutputTokens), CacheWrite = g.Sum(c => c.CacheWriteTokens), CacheRead = g.Sum(c => c.CacheReadTokens) })
            .ToListAsync(cancellationToken);
        return rows.ToDictionary(r => r.TaskId, r => new TokenUsage(r.Input, r.Output, r.CacheWrite, r.CacheRead));
    }

    /// <summary>The task with its cost in tokens and its latest workflow execution (with steps).</summary>
    internal static async Task<TaskDetailResponse> DetailAsync(AppDbContext db, DevTask task, CancellationToken cancellationToken)
    {
        var tokens = await TokensByTaskAsync(db, [task.Id], cancellationToken);
        var execution = await db.WorkflowExecutions.AsNoTracking().Include(w => w.Steps)
            .Where(w => w.TaskId == task.Id).OrderByDescending(w => w.Id).FirstOrDefaultAsync(cancellationToken);
        return new TaskDetailResponse(TaskResponse.From(task, tokens.GetValueOrDefault(task.Id)), execution is null ? null : WorkflowsApi.ExecutionResponse.From(execution));
    }

    /// <summary><c>cancel_requested</c> is present (true) when the task was running: its step is being stopped (202).</summary>
    public sealed record CancelResponse(long Id, string Status, bool? CancelRequested = null);

    /// <summary>The filters of <c>GET /api/v1/tasks</c>, bound as text so that one answer names every bad value.</summary>
    public sealed record TaskFilters(
        [FromQuery(Name = "project_id")] string? ProjectId,
        [FromQuery(Name = "status")] string? Status,
        [FromQuery(Name = "source")] string? Source,
        [FromQuery(Name = "kind")] string? Kind,
        [FromQuery(Name = "parent_id")] string? ParentId);

    public static readonly IReadOnlyList<string> AgentTypes = ["development", "planning", "review", "documentation"];

    private static readonly string[] s_sortable = ["created_at", "updated_at", "priority", "status", "id", "title"];

    private static readonly Dictionary<string, Expression<Func<DevTask, object?>>> s_sortKeys = new()
    {
        ["created_at"] = t => t.CreatedAt,
        ["updated_at"] = t => t.UpdatedAt,
        ["priority"] = t => t.Priority == TaskPriorities.Critical ? 3 : t.Priority == TaskPriorities.High ? 2 : t.Priority == TaskPriorities.Medium ? 1 : 0,
        ["status"] = t => t.Status,
        ["id"] = t => t.Id,
        ["title"] = t => t.Title,
    };

    public static IEndpointRouteBuilder MapTasksApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/tasks").WithTags("Tasks").RequireAuthorization(Roles.CanView);
        group.MapGet("/", ListAsync).WithSummary("List tasks; filters project_id, status, source, kind, parent_id; page, per_page, sort, order.")
            .WithMetadata(new SortableFields(s_sortable)).ProducesData<List<TaskResponse>>();
        group.MapGet("/{id:long}", GetAsync).WithSummary("Get a task: its fields, result (pr_url, branch), cost, and its latest workflow execution nested.")
            .ProducesData<TaskDetailResponse>().ProducesErrors(StatusCodes.Status404NotFound);
        group.MapPost("/", CreateAsync).RequireAuthorization(Roles.CanOperate)
            .WithSummary("Create a task. Idempotency-Key makes a repeat return the first result; auto_start queues it at once.")
            .ProducesData<TaskResponse>(StatusCodes.Status201Created).ProducesErrors(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        group.MapPut("/{id:long}", UpdateAsync).RequireAuthorization(Roles.CanOperate).WithSummary("Update a task's title, description, priority, project or variables.")
            .ProducesData<TaskResponse>().ProducesErrors(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        group.MapPatch("/{id:long}", UpdateAsync).RequireAuthorization(Roles.CanOperate).WithSummary("Update a task's title, description, priority, project or variables.")
            .ProducesData<TaskResponse>().ProducesErrors(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        group.MapPost("/{id:long}/assign-to-agent", AssignAsync).RequireAuthorization(Roles.CanOperate).WithSummary("Queue the task for an agent and a workflow.")
            .ProducesData<TaskDetailResponse>(StatusCodes.Status202Accepted).ProducesErrors(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        group.MapPost("/{id:long}/cancel", CancelAsync).RequireAuthorization(Roles.CanOperate).WithSummary("Cancel a pending, queued or running task.")
            .ProducesData<CancelResponse>().ProducesData<CancelResponse>(StatusCodes.Status202Accepted)
            .ProducesErrors(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<IResult> ListAsync([AsParameters] PageQuery page, [AsParameters] TaskFilters filters, HttpContext context, AppDbContext db, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        var paging = PageRequest.Read(page, validation, s_sortable);
        // Only the tasks the caller may see, filtered in SQL (Features/Auth/Ownership); an admin's query is unchanged.
        var query = Ownership.VisibleTasks(db, context.User).AsNoTracking();
        if (filters.ProjectId is { Length: > 0 } projectText)
        {
            if (long.TryParse(projectText, out var projectId))
            {
                query = query.Where(t => t.ProjectId == projectId);
            }
            else
            {
                validation.Add("project_id", "must be a project id (a whole number)");
            }
        }

        if (filters.Status is { Length: > 0 } status)
        {
            var statuses = status.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var s in statuses)
            {
                validation.OneOf("status", s, TaskStatuses.All);
            }

            query = query.Where(t => statuses.Contains(t.Status));
        }

        if (filters.Source is { Length: > 0 } source)
        {
            validation.OneOf("source", source, TaskSources.All);
            query = query.Where(t => t.Source == source);
        }

        if (filters.Kind is { Length: > 0 } kind)
        {
            validation.OneOf("kind", kind, TaskKinds.All);
            query = query.Where(t => t.Kind == kind);
        }

        if (filters.ParentId is { Length: > 0 } parentText)
        {
            if (long.TryParse(parentText, out var parentId))
            {
                query = query.Where(t => t.ParentId == parentId);
            }
            else
            {
                validation.Add("parent_id", "must be a task id (a whole number)");
            }
        }

        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        var total = await query.LongCountAsync(cancellationToken);
        var items = await paging.Apply(query, s_sortKeys, t => t.Id).ToListAsync(cancellationToken);
        var tokens = await TokensByTaskAsync(db, [.. items.Select(t => t.Id)], cancellationToken);
        return Api.Ok(context, items.Select(t => TaskResponse.From(t, tokens.GetValueOrDefault(t.Id))).ToList(), pagination: paging.Describe(total));
    }

    private static async Task<Results<JsonHttpResult<ApiResponse<TaskDetailResponse>>, JsonHttpResult<ApiErrorResponse>>> GetAsync(
        long id, HttpContext context, AppDbContext db, CancellationToken cancellationToken)
    {
        var task = await Ownership.VisibleTasks(db, context.User).AsNoTracking().FirstOrDefaultAsync(t => t.Id == id, cancellationToken);
        if (task is null)
        {
            return Api.NotFound(context, "Task", id);
        }

        return Api.Ok(context, await DetailAsync(db, task, cancellationToken));
    }

    /// <summary>
    /// The task, tracked, when the caller may act on it (Features/Auth/Ownership); else the refusal: 404 when they
    /// cannot see it (or it does not exist), 403 when they see it but their project role is viewer.
    /// </summary>
    internal static async Task<(DevTask? Task, IResult? Refused)> FindWritableAsync(AppDbContext db, HttpContext context, long id, CancellationToken cancellationToken)
    {
        var task = await db.Tasks.FirstOrDefaultAsync(t => t.Id == id, cancellationToken);
        if (task is null)
        {
            return (null, Api.NotFound(context, "Task", id));
        }

        var refused = Ownership.Refuse(context, await Ownership.TaskAccessAsync(db, context.User, task, cancellationToken), AccessLevel.Write, "Task", id);
        return refused is null ? (task, null) : (null, refused);
    }

    /// <summary>How long an Idempotency-Key is remembered; after that the same key creates a new task.</summary>
    public static readonly TimeSpan IdempotencyKeyLifetime = TimeSpan.FromHours(24);

    private static async Task<IResult> CreateAsync(
        CreateTaskRequest request, HttpContext context, AppDbContext db, TaskLifecycle lifecycle, WorkflowCatalog workflows,
        TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var userId = context.User.UserId();
        var idempotencyKey = context.Request.Headers[IdempotencyHeader].ToString();
        var validation = new Validation()
            .Required("title", request.Title, 500)
            .MaxLength("description", request.Description, 100_000)
            .OneOf("priority", request.Priority, TaskPriorities.All)
            .OneOf("source", request.Source, TaskSources.All)
            .MaxLength("external_id", request.ExternalId, 200)
            .OneOf("agent_type", request.AgentType, AgentTypes);
        if (idempotencyKey.Length > 200)
        {
            validation.Add(IdempotencyHeader, "must be at most 200 characters");
        }

        if (request.Workflow is not null && workflows.Find(request.Workflow) is null)
        {
            validation.Add("workflow", $"unknown workflow; known: {string.Join(", ", workflows.List().Select(w => w.Name))}");
        }

        // A project the caller cannot see does not exist for them; one they see as a viewer is a 403.
        var projectAccess = request.ProjectId is { } pid ? await Ownership.ProjectAccessAsync(db, context.User, pid, cancellationToken) : AccessLevel.Manage;
        if (projectAccess == AccessLevel.None)
        {
            validation.Add("project_id", $"project {request.ProjectId} does not exist");
        }

        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        if (Ownership.Refuse(context, projectAccess, AccessLevel.Write, "Project", request.ProjectId!) is { } refused)
        {
            return refused;
        }

        var fingerprint = idempotencyKey.Length > 0 ? Fingerprint(request) : null;
        if (idempotencyKey.Length > 0 && await FindByIdempotencyKeyAsync(db, userId, idempotencyKey, cancellationToken) is { } earlier)
        {
            if (earlier.CreatedAt >= timeProvider.GetUtcNow() - IdempotencyKeyLifetime)
            {
                return Replay(context, earlier, fingerprint);
            }

            // Expired: the key is free again (the earlier task keeps everything but the key).
            await db.Tasks.Where(t => t.Id == earlier.Id && t.IdempotencyKey == idempotencyKey)
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.IdempotencyKey, (string?)null).SetProperty(t => t.IdempotencyFingerprint, (string?)null), CancellationToken.None);
        }

        var source = request.Source ?? TaskSources.Api;
        if (request.ExternalId is { Length: > 0 } externalId &&
            await db.Tasks.AsNoTracking().FirstOrDefaultAsync(t => t.Source == source && t.ExternalId == externalId, cancellationToken) is { } existing)
        {
            return await ExternalIdConflictAsync(db, context, existing, source, externalId);
        }

        var start = request.AutoStart == true;
        DevTask task;
        try
        {
            // From here on the request's token is not used: the client may go away, the task it asked for may not.
            task = await lifecycle.CreateAsync(new NewTask(request.Title!.Trim())
            {
                Description = request.Description,
                ProjectId = request.ProjectId,
                Priority = request.Priority ?? TaskPriorities.Medium,
                Source = source,
                ExternalId = string.IsNullOrEmpty(request.ExternalId) ? null : request.ExternalId,
                Workflow = request.Workflow ?? "standard_dev_workflow",
                AgentType = request.AgentType ?? "development",
                Variables = request.Variables is null ? null : JsonSerializer.Serialize(request.Variables, JsonDefaults.Options),
                CreatedByUserId = userId,
                IdempotencyKey = idempotencyKey.Length > 0 ? idempotencyKey : null,
                IdempotencyFingerprint = fingerprint,
            }, start, checkActiveTaskLimit: true);
        }
        catch (DbUpdateException ex) when (TransientDatabaseErrors.IsUniqueViolation(ex) && (idempotencyKey.Length > 0 || request.ExternalId is { Length: > 0 }))
        {
            // A concurrent request with the same key or external id won the race: answer with its task.
            db.ChangeTracker.Clear();
            var winner = idempotencyKey.Length > 0
                ? await FindByIdempotencyKeyAsync(db, userId, idempotencyKey, CancellationToken.None)
                : await db.Tasks.AsNoTracking().FirstOrDefaultAsync(t => t.Source == source && t.ExternalId == request.ExternalId, CancellationToken.None);
            if (winner is null)
            {
                throw;
            }

            return idempotencyKey.Length > 0
                ? Replay(context, winner, fingerprint)
                : await ExternalIdConflictAsync(db, context, winner, source, request.ExternalId!);
        }

        context.Response.Headers.Location = $"/api/v1/tasks/{task.Id}";
        return Api.Ok(context, TaskResponse.From(task), start ? "Task created and queued." : "Task created.", statusCode: StatusCodes.Status201Created);
    }

    /// <summary>409 for an external item that already has a task; its id only when the caller may see that task.</summary>
    private static async Task<IResult> ExternalIdConflictAsync(AppDbContext db, HttpContext context, DevTask existing, string source, string externalId) =>
        await Ownership.TaskAccessAsync(db, context.User, existing, CancellationToken.None) == AccessLevel.None
            ? Api.Conflict(context, $"A task already exists for {source} item '{externalId}'.")
            : Api.Conflict(context, $"Task {existing.Id} already exists for {source} item '{externalId}'.");

    /// <summary>The answer to a repeated Idempotency-Key: the first result for the same body, 409 for another body.</summary>
    private static IResult Replay(HttpContext context, DevTask earlier, string? fingerprint)
    {
        if (earlier.IdempotencyFingerprint is { } stored && stored != fingerprint)
        {
            return Api.Conflict(context, $"{IdempotencyHeader} was used for task {earlier.Id} with a different request body; use a new key for a new task.");
        }

        context.Response.Headers["Idempotent-Replayed"] = "true";
        context.Response.Headers.Location = $"/api/v1/tasks/{earlier.Id}";
        return Api.Ok(context, TaskResponse.From(earlier), "Task already created with this Idempotency-Key.", statusCode: StatusCodes.Status201Created);
    }

    /// <summary>SHA-256 of the request as bound (field order fixed by the record, variables in the order sent).</summary>
    internal static string Fingerprint(CreateTaskRequest request) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(request, JsonDefaults.Options)));

    private static Task<DevTask?> FindByIdempotencyKeyAsync(AppDbContext db, long? userId, string key, CancellationToken cancellationToken) =>
        db.Tasks.AsNoTracking().FirstOrDefaultAsync(t => t.CreatedByUserId == userId && t.IdempotencyKey == key, cancellationToken);

    private static async Task<IResult> UpdateAsync(long id, UpdateTaskRequest request, HttpContext context, AppDbContext db, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var validation = new Validation().MaxLength("description", request.Description, 100_000).OneOf("priority", request.Priority, TaskPriorities.All);
        if (request.Title is not null)
        {
            validation.Required("title", request.Title, 500);
        }

        var projectAccess = request.ProjectId is { } pid ? await Ownership.ProjectAccessAsync(db, context.User, pid, cancellationToken) : AccessLevel.Manage;
        if (projectAccess == AccessLevel.None)
        {
            validation.Add("project_id", $"project {request.ProjectId} does not exist");
        }

        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        var (task, refused) = await FindWritableAsync(db, context, id, cancellationToken);
        if (task is null)
        {
            return refused!;
        }

        // Moving a task into a project needs the right to create tasks there.
        if (Ownership.Refuse(context, projectAccess, AccessLevel.Write, "Project", request.ProjectId!) is { } refusedProject)
        {
            return refusedProject;
        }

        if (task.Status is TaskStatuses.Running or TaskStatuses.Queued && (request.ProjectId is not null || request.Variables is not null))
        {
            return Api.Conflict(context, $"Task {id} is {task.Status}: its project and variables cannot change until it stops.");
        }

        if (request.Title is not null) task.Title = request.Title.Trim();
        if (request.Description is not null) task.Description = request.Description;
        if (request.Priority is not null) task.Priority = request.Priority;
        if (request.ProjectId is not null) task.ProjectId = request.ProjectId;
        if (request.Variables is not null) task.Variables = JsonSerializer.Serialize(request.Variables, JsonDefaults.Options);
        task.UpdatedAt = timeProvider.GetUtcNow();
        await db.SaveChangesAsync(CancellationToken.None);
        var tokens = await TokensByTaskAsync(db, [task.Id], CancellationToken.None);
        return Api.Ok(context, TaskResponse.From(task, tokens.GetValueOrDefault(task.Id)), "Task updated.");
    }

    private static async Task<IResult> AssignAsync(long id, AssignRequest? request, HttpContext context, AppDbContext db, TaskLifecycle lifecycle, WorkflowCatalog workflows, CancellationToken cancellationToken)
    {
        request ??= new AssignRequest(null, null, null, null);
        var validation = new Validation().OneOf("agent_type", request.AgentType, AgentTypes).OneOf("priority", request.Priority, TaskPriorities.All);
        if (request.Workflow is not null && workflows.Find(request.Workflow) is null)
        {
            validation.Add("workflow", $"unknown workflow; known: {string.Join(", ", workflows.List().Select(w => w.Name))}");
        }

        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        var (task, refused) = await FindWritableAsync(db, context, id, cancellationToken);
        if (task is null)
        {
            return refused!;
        }

        if (task.Status is TaskStatuses.Queued or TaskStatuses.Running)
        {
            return Api.Conflict(context, $"Task {id} is already {task.Status}.");
        }

        var workflow = request.Workflow ?? task.Workflow;
        if (workflows.Find(workflow) is null)
        {
            return Api.Invalid(context, new Validation().Add("workflow", $"the task's workflow '{workflow}' does not exist; name one"));
        }

        if (request.AgentType is not null) task.AgentType = request.AgentType;
        if (request.Priority is not null) task.Priority = request.Priority;
        var variables = request.Variables is null ? null : JsonSerializer.Serialize(request.Variables, JsonDefaults.Options);
        var execution = await lifecycle.QueueAsync(task, workflow, variables, checkActiveTaskLimit: true);
        if (execution is null)
        {
            return Api.Conflict(context, $"Task {id} was queued by another request meanwhile.");
        }

        var tokens = await TokensByTaskAsync(db, [task.Id], CancellationToken.None);
        return Api.Ok(context, new TaskDetailResponse(TaskResponse.From(task, tokens.GetValueOrDefault(task.Id)), WorkflowsApi.ExecutionResponse.From(execution)),
            $"Task queued for the {task.AgentType} agent.",
            statusCode: StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> CancelAsync(
        long id, CancelRequest? request, HttpContext context, AppDbContext db, TaskLifecycle lifecycle, AuditTrail audit, CancellationToken cancellationToken)
    {
        var validation = new Validation().MaxLength("reason", request?.Reason, 2000);
        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        var (task, refused) = await FindWritableAsync(db, context, id, cancellationToken);
        if (task is null)
        {
            return refused!;
        }

        // Added before the cancellation so that a pending or queued task's cancellation saves it in its own transaction.
        var entry = audit.Add(AuditActions.TaskCancelled, "task", id, new { title = task.Title, status_before = task.Status, reason = request?.Reason });
        var status = await lifecycle.CancelAsync(task, request?.Reason ?? $"cancelled by {context.User.FindFirst("email")?.Value ?? "a user"}");
        if (status is null)
        {
            audit.Discard(entry);
            return Api.Conflict(context, $"Task {id} has already finished ({task.Status}).");
        }

        // A running task's cancellation is requested without a save of the context: the row is written here.
        await db.SaveChangesAsync(CancellationToken.None);

        return status == TaskStatuses.Cancelled
            ? Api.Ok(context, new { id, status }, "Task cancelled.")
            : Api.Ok(context, new { id, status, cancel_requested = true }, "Cancellation requested; the running step is being stopped.", statusCode: StatusCodes.Status202Accepted);
    }
}
