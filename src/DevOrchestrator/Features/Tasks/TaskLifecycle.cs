using System.Text.Json;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Events;
using DevOrchestrator.Features.Health;
using DevOrchestrator.Features.Workflows;
using DevOrchestrator.Hosting;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Tasks;

/// <summary>
/// The one owner of a task's life. Every entry point (API, generated plans, webhook and poll intake, the CLI) creates
/// tasks here; every status change — queue, claim, hand back, finish, cancel — happens here, checked against
/// <see cref="TaskTransitions"/> and announced by one <see cref="TaskStatusUpdate"/> event in the same transaction.
/// Work the client asked for is committed without the request's cancellation token: a client that goes away after
/// asking may lose the answer, never the task.
/// </summary>
public sealed class TaskLifecycle(
    AppDbContext db, EventPublisher events, TaskWakeup wakeup, RunningTasks runningTasks, TimeProvider timeProvider, DevOrchestratorMetrics metrics,
    ActiveAgentTasks activeAgentTasks)
{
    /// <summary>
    /// Creates a task, queued at once when <paramref name="start"/> (its workflow execution and event in the same
    /// transaction, so there is no moment at which it exists but was not asked to run). <paramref name="withTask"/>
    /// stages more rows in that transaction once the task has its id (an intake's delivery record).
    /// Throws <see cref="DbUpdateException"/> on a unique key (idempotency key, external id, delivery id): nothing is stored.
    /// With <paramref name="checkActiveTaskLimit"/> (the API), a queued task must fit in its creator's active agent
    /// task limit, else <see cref="ActiveAgentTaskLimitException"/> and nothing is stored.
    /// </summary>
    public async Task<DevTask> CreateAsync(NewTask spec, bool start, Action<DevTask>? withTask = null, bool checkActiveTaskLimit = false)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(CancellationToken.None);
        if (start && checkActiveTaskLimit)
        {
            await activeAgentTasks.CheckInTransactionAsync(db, spec.CreatedByUserId, 1);
        }

        var tasks = await StageAsync([spec], start, withTask);
        await transaction.CommitAsync(CancellationToken.None);
        Created(tasks.Count, start);
        return tasks[0];
    }

    /// <summary>
    /// Creates a plan in one transaction, all or nothing: its epics (pending), then each epic's tasks under it (queued
    /// when <paramref name="startTasks"/>, else pending).
    /// </summary>
    public async Task<IReadOnlyList<(DevTask Epic, IReadOnlyList<DevTask> Tasks)>> CreatePlanAsync(
        IReadOnlyList<(NewTask Epic, IReadOnlyList<NewTask> Tasks)> plan, bool startTasks)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(CancellationToken.None);
        var epics = await StageAsync(plan.Select(p => p.Epic with { Kind = TaskKinds.Epic }).ToList(), start: false, withTask: null);
        var stored = new List<(DevTask Epic, IReadOnlyList<DevTask> Tasks)>();
        for (var i = 0; i < epics.Count; i++)
        {
            var specs = plan[i].Tasks.Select(t => t with { Kind = TaskKinds.Task, ParentId = epics[i].Id }).ToList();
            stored.Add((epics[i], await StageAsync(specs, startTasks, withTask: null)));
        }

        await transaction.CommitAsync(CancellationToken.None);
        Created(epics.Count, start: false);
        Created(stored.Sum(s => s.Tasks.Count), startTasks);
        return stored;
    }

    /// <summary>Inserts the tasks and their first event (and execution) in the caller's transaction.</summary>
    private async Task<IReadOnlyList<DevTask>> StageAsync(IReadOnlyList<NewTask> specs, bool start, Action<DevTask>? withTask)
    {
        var ct = CancellationToken.None;
        var now = timeProvider.GetUtcNow();
        var status = start ? TaskStatuses.Queued : TaskStatuses.Pending;
        TaskTransitions.Check(null, status, TaskTransitions.Cause.Created);
        var tasks = specs.Select(spec => new DevTask
        {
            Title = spec.Title,
            Description = spec.Description,
            ProjectId = spec.ProjectId,
            Priority = spec.Priority,
            Source = spec.Source,
            ExternalId = spec.ExternalId,
            Workflow = spec.Workflow,
            AgentType = spec.AgentType,
            Variables = spec.Variables,
            CreatedByUserId = spec.CreatedByUserId,
            IdempotencyKey = spec.IdempotencyKey,
            IdempotencyFingerprint = spec.IdempotencyFingerprint,
            Kind = spec.Kind,
            ParentId = spec.ParentId,
            ReplyTo = spec.ReplyTo,
            TraceParent = Hosting.Tracing.CurrentTraceParent(),
            Status = status,
            QueuedAt = start ? now : null,
            CreatedAt = now,
            UpdatedAt = now,
        }).ToList();

        // The ids come from the first save; the events carry them.
        db.Tasks.AddRange(tasks);
        await db.SaveChangesAsync(ct);
        foreach (var task in tasks)
        {
            withTask?.Invoke(task);
            if (start)
            {
                db.WorkflowExecutions.Add(NewExecution(task, now));
            }

            Announce(new TaskStatusUpdate(task.Id, status, null, TaskTransitions.Cause.Created, Title: task.Title, Source: task.Source,
                Workflow: start ? task.Workflow : null));
        }

        await db.SaveChangesAsync(ct);
        return tasks;
    }

    private void Created(int count, bool start)
    {
        if (count == 0)
        {
            return;
        }

        metrics.TaskTransitions.WithLabels(start ? TaskStatuses.Queued : TaskStatuses.Pending).Inc(count);
        if (start)
        {
            wakeup.Pulse();
        }
    }

    /// <summary>
    /// Queues a pending or finished task to run <paramref name="workflow"/>. Returns the new workflow execution, or null
    /// when the task is already queued or running (another request won). With <paramref name="checkActiveTaskLimit"/>
    /// (the API), the task must fit in its creator's active agent task limit, else <see cref="ActiveAgentTaskLimitException"/>.
    /// </summary>
    public async Task<WorkflowExecution?> QueueAsync(DevTask task, string workflow, string? variablesJson, bool checkActiveTaskLimit = false)
    {
        var ct = CancellationToken.None;
        var previous = task.Status;
        if (!TaskTransitions.IsAllowed(previous, TaskStatuses.Queued, TaskTransitions.Cause.Queued))
        {
            return null;
        }

        var now = timeProvider.GetUtcNow();
        var variables = variablesJson ?? task.Variables;
        var traceParent = Hosting.Tracing.CurrentTraceParent(); // the run joins the trace of what queued it (null: a new trace)
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        if (checkActiveTaskLimit)
        {
            await activeAgentTasks.CheckInTransactionAsync(db, task.CreatedByUserId, 1);
        }

        // Conditional on the status read: two concurrent requests cannot both queue it.
        var updated = await db.Tasks.Where(t => t.Id == task.Id && t.Status == previous)
            .ExecuteUpdateAsync(s => s
                .SetProperty(t => t.Status, TaskStatuses.Queued)
                .SetProperty(t => t.Workflow, workflow)
                .SetProperty(t => t.Variables, variables)
                .SetProperty(t => t.AgentType, task.AgentType)
                .SetProperty(t => t.Priority, task.Priority)
                .SetProperty(t => t.Description, task.Description)
                .SetProperty(t => t.QueuedAt, now)
                .SetProperty(t => t.TraceParent, traceParent)
                .SetProperty(t => t.UpdatedAt, now)
                .SetProperty(t => t.CompletedAt, (DateTimeOffset?)null)
                .SetProperty(t => t.Error, (string?)null)
                .SetProperty(t => t.CancelRequestedAt, (DateTimeOffset?)null), ct);
        if (updated == 0)
        {
            return null;
        }

        // The row was written above: the context must not write it again (and marking it unchanged would restore the
        // values it was loaded with), so it lets go of it.
        db.Entry(task).State = EntityState.Detached;
        task.Status = TaskStatuses.Queued;
        task.Workflow = workflow;
        task.Variables = variables;
        task.QueuedAt = now;
        task.TraceParent = traceParent;
        task.UpdatedAt = now;
        task.CompletedAt = null;
        task.Error = null;
        task.CancelRequestedAt = null;

        var execution = NewExecution(task, now);
        db.WorkflowExecutions.Add(execution);
        Announce(new TaskStatusUpdate(task.Id, TaskStatuses.Queued, previous, TaskTransitions.Cause.Queued, Workflow: workflow));
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        metrics.TaskTransitions.WithLabels(TaskStatuses.Queued).Inc();
        wakeup.Pulse();
        return execution;
    }

    /// <summary>
    /// Cancels a task: a pending or queued one at once; a running one by flagging it, which its worker notices within
    /// a quarter of a second (at once in this process) and answers by killing the running step.
    /// </summary>
    /// <returns>The task's status after the call, or null when it had already finished.</returns>
    public async Task<string?> CancelAsync(DevTask task, string reason)
    {
        var ct = CancellationToken.None;
        var now = timeProvider.GetUtcNow();
        if (task.Status is TaskStatuses.Pending or TaskStatuses.Queued)
        {
            var previous = task.Status;
            await using var transaction = await db.Database.BeginTransactionAsync(ct);
            var updated = await db.Tasks
                .Where(t => t.Id == task.Id && t.Status == previous)
                .ExecuteUpdateAsync(s => s
                    .SetProperty(t => t.Status, TaskStatuses.Cancelled)
                    .SetProperty(t => t.CancelRequestedAt, now)
                    .SetProperty(t => t.CompletedAt, now)
                    .SetProperty(t => t.UpdatedAt, now)
                    .SetProperty(t => t.Error, reason), ct);
            if (updated == 1)
            {
                await db.WorkflowExecutions.Where(w => w.TaskId == task.Id && w.Status == WorkflowStatuses.Queued)
                    .ExecuteUpdateAsync(s => s.SetProperty(w => w.Status, WorkflowStatuses.Cancelled).SetProperty(w => w.CompletedAt, now), ct);
                Announce(new TaskStatusUpdate(task.Id, TaskStatuses.Cancelled, previous, TaskTransitions.Cause.Cancelled, Reason: reason));
                await db.SaveChangesAsync(ct);
                await transaction.CommitAsync(ct);
                metrics.TaskTransitions.WithLabels(TaskStatuses.Cancelled).Inc();
                return TaskStatuses.Cancelled;
            }

            await transaction.RollbackAsync(ct);
            await db.Entry(task).ReloadAsync(ct);
        }

        if (task.Status == TaskStatuses.Running)
        {
            // The worker records the transition to cancelled when its run has stopped.
            await db.Tasks.Where(t => t.Id == task.Id && t.Status == TaskStatuses.Running && t.CancelRequestedAt == null)
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.CancelRequestedAt, now).SetProperty(t => t.Error, reason), ct);
            runningTasks.Cancel(task.Id);
            return TaskStatuses.Running;
        }

        return TaskStatuses.IsFinished(task.Status) ? null : task.Status;
    }

    /// <summary>A running task whose cancel was requested and whose worker died (its lease expired) is cancelled.</summary>
    public async Task CancelAbandonedAsync(long taskId, string? workerId)
    {
        var ct = CancellationToken.None;
        var now = timeProvider.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var updated = await db.Tasks.Where(t => t.Id == taskId && t.Status == TaskStatuses.Running && t.LeaseExpiresAt < now && t.CancelRequestedAt != null)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.Status, TaskStatuses.Cancelled).SetProperty(t => t.CompletedAt, now)
                .SetProperty(t => t.LeaseExpiresAt, (DateTimeOffset?)null).SetProperty(t => t.UpdatedAt, now), ct);
        if (updated == 0)
        {
            return;
        }

        await db.WorkflowExecutions.Where(w => w.TaskId == taskId && (w.Status == WorkflowStatuses.Running || w.Status == WorkflowStatuses.Queued))
            .ExecuteUpdateAsync(s => s.SetProperty(w => w.Status, WorkflowStatuses.Cancelled).SetProperty(w => w.CompletedAt, now), ct);
        await AbandonAsync(db.AgentExecutions.Where(a => a.TaskId == taskId && a.Status == AgentStatuses.Running), now, ct);
        Announce(new TaskStatusUpdate(taskId, TaskStatuses.Cancelled, TaskStatuses.Running, TaskTransitions.Cause.Cancelled, WorkerId: workerId,
            Reason: "cancel requested; its worker stopped before it could record it"));
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        metrics.TaskTransitions.WithLabels(TaskStatuses.Cancelled).Inc();
    }

    /// <summary>
    /// The start of a claimed task's run, in one commit: its workflow execution running, a new agent execution (earlier
    /// ones of a dead worker abandoned), the status and agent events.
    /// </summary>
    public async Task<(DevTask Task, WorkflowExecution Execution, AgentExecution Agent)> StartRunAsync(ClaimedTask claim, string workerId, CancellationToken cancellationToken)
    {
        db.ChangeTracker.Clear(); // a retried attempt starts afresh
        var now = timeProvider.GetUtcNow();
        var task = await db.Tasks.SingleAsync(t => t.Id == claim.Id, cancellationToken);
        var execution = await db.WorkflowExecutions
            .Where(w => w.TaskId == claim.Id && w.Status != WorkflowStatuses.Completed && w.Status != WorkflowStatuses.Failed && w.Status != WorkflowStatuses.Cancelled && w.Status != WorkflowStatuses.BudgetExceeded)
            .OrderByDescending(w => w.Id).FirstOrDefaultAsync(cancellationToken);
        if (execution is null)
        {
            execution = NewExecution(task, now);
            db.WorkflowExecutions.Add(execution);
        }

        execution.Status = WorkflowStatuses.Running;
        execution.StartedAt ??= now;

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (task.Attempts > 1)
        {
            await AbandonAsync(db.AgentExecutions.Where(a => a.TaskId == claim.Id && a.Status == AgentStatuses.Running), now, cancellationToken);
        }

        var agent = new AgentExecution { TaskId = task.Id, AgentType = task.AgentType, WorkerId = workerId, StartedAt = now, Status = AgentStatuses.Running };
        db.AgentExecutions.Add(agent);
        await db.SaveChangesAsync(cancellationToken);
        agent.WorkflowExecutionId = execution.Id;
        Announce(new TaskStatusUpdate(task.Id, TaskStatuses.Running, claim.PreviousStatus, TaskTransitions.Cause.Claimed,
            Workflow: task.Workflow, Attempt: task.Attempts, WorkerId: workerId));
        events.Add(db, task.Id, EventTypes.AgentStatusUpdate, new { agent_id = agent.Id, task_id = task.Id, agent_type = agent.AgentType, status = AgentStatuses.Running });
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        metrics.TaskTransitions.WithLabels(TaskStatuses.Running).Inc();
        return (task, execution, agent);
    }

    /// <summary>
    /// Hands a running task back to the queue (its worker shuts down, or met a transient database error): another worker
    /// resumes it after its last completed step. False when this worker no longer owns it or its cancel was requested.
    /// </summary>
    public async Task<bool> HandBackAsync(long taskId, long executionId, long agentId, string workerId, string reason)
    {
        var ct = CancellationToken.None;
        var now = timeProvider.GetUtcNow();
        db.ChangeTracker.Clear();
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        // A task whose cancel was requested is not handed back (it would never be claimed again): the caller records it cancelled.
        var updated = await db.Tasks.Where(t => t.Id == taskId && t.WorkerId == workerId && t.Status == TaskStatuses.Running && t.CancelRequestedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.Status, TaskStatuses.Queued).SetProperty(t => t.WorkerId, (string?)null)
                .SetProperty(t => t.LeaseExpiresAt, (DateTimeOffset?)null).SetProperty(t => t.QueuedAt, now).SetProperty(t => t.UpdatedAt, now), ct);
        if (updated == 0)
        {
            await transaction.RollbackAsync(ct);
            return false;
        }

        await AbandonAsync(db.AgentExecutions.Where(a => a.Id == agentId), now, ct);

        await db.WorkflowExecutions.Where(w => w.Id == executionId)
            .ExecuteUpdateAsync(s => s.SetProperty(w => w.Status, WorkflowStatuses.Queued), ct);
        Announce(new TaskStatusUpdate(taskId, TaskStatuses.Queued, TaskStatuses.Running, TaskTransitions.Cause.HandedBack, WorkerId: workerId, Reason: reason));
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        metrics.TaskTransitions.WithLabels(TaskStatuses.Queued).Inc();
        wakeup.Pulse();
        return true;
    }

    /// <summary>
    /// Records how a run ended (task, execution, agent and their events in one commit). False when another worker took
    /// the task over meanwhile (this worker's lease had expired): that worker owns the outcome.
    /// </summary>
    public async Task<bool> FinishRunAsync(DevTask task, long executionId, AgentExecution agent, string workerId, WorkflowOutcome outcome)
    {
        var ct = CancellationToken.None;
        db.ChangeTracker.Clear();
        var now = timeProvider.GetUtcNow();
        var current = await db.Tasks.AsNoTracking().Where(t => t.Id == task.Id).Select(t => new { t.WorkerId, t.Status, t.Error }).SingleAsync(ct);
        if (current.WorkerId != workerId || current.Status != TaskStatuses.Running)
        {
            await AbandonAsync(db.AgentExecutions.Where(a => a.Id == agent.Id), now, ct);
            return false;
        }

        var status = outcome.Status switch
        {
            WorkflowRunStatus.Completed => TaskStatuses.Completed,
            WorkflowRunStatus.Cancelled => TaskStatuses.Cancelled,
            WorkflowRunStatus.BudgetExceeded => TaskStatuses.BudgetExceeded,
            _ => TaskStatuses.Failed,
        };
        var error = status == TaskStatuses.Cancelled ? current.Error ?? "cancelled" : outcome.Error;
        var result = JsonSerializer.Serialize(outcome.Result, JsonDefaults.Options);
        var branch = outcome.Branch;

        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var updated = await db.Tasks.Where(t => t.Id == task.Id && t.WorkerId == workerId && t.Status == TaskStatuses.Running)
            .ExecuteUpdateAsync(s => s
                .SetProperty(t => t.Status, status)
                .SetProperty(t => t.Error, error)
                .SetProperty(t => t.Result, result)
                .SetProperty(t => t.Branch, t => branch ?? t.Branch)
                .SetProperty(t => t.CompletedAt, now)
                .SetProperty(t => t.LeaseExpiresAt, (DateTimeOffset?)null)
                .SetProperty(t => t.UpdatedAt, now), ct);
        if (updated == 0)
        {
            // Taken over between the read and the write.
            await transaction.RollbackAsync(ct);
            return false;
        }

        await db.WorkflowExecutions.Where(w => w.Id == executionId)
            .ExecuteUpdateAsync(s => s.SetProperty(w => w.Status, WorkflowStatuses.Of(outcome.Status)).SetProperty(w => w.Error, outcome.Error).SetProperty(w => w.CompletedAt, now), ct);
        var agentStatus = status switch { TaskStatuses.Completed => AgentStatuses.Completed, TaskStatuses.Cancelled => AgentStatuses.Stopped, _ => AgentStatuses.Failed };
        await db.AgentExecutions.Where(a => a.Id == agent.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.Status, agentStatus).SetProperty(a => a.Error, outcome.Error).SetProperty(a => a.CompletedAt, now), ct);
        events.Add(db, task.Id, EventTypes.AgentStatusUpdate, new { agent_id = agent.Id, task_id = task.Id, agent_type = agent.AgentType, status = agentStatus });
        Announce(new TaskStatusUpdate(task.Id, status, TaskStatuses.Running, TaskTransitions.Cause.Finished, Workflow: task.Workflow, Attempt: task.Attempts,
            WorkerId: workerId, Branch: branch, Error: error));
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        metrics.TaskTransitions.WithLabels(status).Inc();
        if (task.StartedAt is { } started)
        {
            metrics.TaskCompletion.WithLabels(status).Observe(Math.Max(0, (now - started).TotalSeconds));
        }

        return true;
    }

    /// <summary>Stages the one <c>task.status_update</c> event of a transition (checked against the table) in this unit of work.</summary>
    private void Announce(TaskStatusUpdate update)
    {
        TaskTransitions.Check(update.PreviousStatus, update.Status, update.Cause);
        events.Add(db, update.TaskId, EventTypes.TaskStatusUpdate, update);
    }

    /// <summary>Agent executions whose worker stopped or lost the task: not running any more, not finished by it.</summary>
    private static Task<int> AbandonAsync(IQueryable<AgentExecution> agents, DateTimeOffset now, CancellationToken cancellationToken) =>
        agents.ExecuteUpdateAsync(s => s.SetProperty(a => a.Status, AgentStatuses.Abandoned).SetProperty(a => a.CompletedAt, now), cancellationToken);

    private static WorkflowExecution NewExecution(DevTask task, DateTimeOffset now) => new()
    {
        TaskId = task.Id,
        WorkflowName = task.Workflow,
        Status = WorkflowStatuses.Queued,
        Variables = task.Variables,
        CreatedAt = now,
    };
}
