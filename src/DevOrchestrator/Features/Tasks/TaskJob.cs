using System.Text.Json;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Agents;
using DevOrchestrator.Features.Events;
using DevOrchestrator.Features.Health;
using DevOrchestrator.Features.Workflows;
using DevOrchestrator.Hosting;
using Hangfire;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Tasks;

/// <summary>
/// The job a worker runs for "task N": claim the task atomically (only one worker wins, even when several got a job for
/// it), run its workflow execution under a lease, and record how it ended. A worker that shuts down hands the task back
/// to the queue; one that dies leaves a lease that expires, and the sweeper gives the task to another worker, which
/// resumes after the last completed step.
/// </summary>
public sealed partial class TaskJob(
    IServiceScopeFactory scopes,
    AppDbContext db,
    RunningTasks runningTasks,
    WorkerIdentity identity,
    EventPublisher events,
    Plugins.TaskChatThread chat,
    DevOrchestratorMetrics metrics,
    TimeProvider timeProvider,
    ILogger<TaskJob> logger)
{
    [AutomaticRetry(Attempts = 0)]
    [Queue(TaskDispatch.Queue)]
    public async Task RunAsync(long taskId, CancellationToken cancellationToken)
    {
        if (!await TryClaimAsync(taskId, cancellationToken))
        {
            LogNotClaimed(logger, taskId);
            return;
        }

        using var scope = logger.BeginScope(new Dictionary<string, object> { ["task_id"] = taskId });
        var task = await db.Tasks.SingleAsync(t => t.Id == taskId, cancellationToken);
        var now = timeProvider.GetUtcNow();
        if (task.QueuedAt is { } queuedAt && task.Attempts == 1)
        {
            metrics.DispatchLatency.Observe(Math.Max(0, (now - queuedAt).TotalSeconds));
        }

        var execution = await db.WorkflowExecutions
            .Where(w => w.TaskId == taskId && w.Status != WorkflowStatuses.Completed && w.Status != WorkflowStatuses.Failed && w.Status != WorkflowStatuses.Cancelled && w.Status != WorkflowStatuses.BudgetExceeded)
            .OrderByDescending(w => w.Id).FirstOrDefaultAsync(cancellationToken);
        if (execution is null)
        {
            execution = new WorkflowExecution { TaskId = taskId, WorkflowName = task.Workflow, Variables = task.Variables, CreatedAt = now };
            db.WorkflowExecutions.Add(execution);
        }

        execution.Status = WorkflowStatuses.Running;
        execution.StartedAt ??= now;

        AgentExecution agent;

        // One commit for the start of the run (each commit is a disk sync on PostgreSQL).
        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            if (task.Attempts > 1)
            {
                await db.AgentExecutions.Where(a => a.TaskId == taskId && a.Status == AgentStatuses.Running)
                    .ExecuteUpdateAsync(s => s.SetProperty(a => a.Status, AgentStatuses.Abandoned).SetProperty(a => a.CompletedAt, now), cancellationToken);
            }

            agent = await StartAgentAsync(task, execution, now, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        metrics.TaskTransitions.WithLabels(TaskStatuses.Running).Inc();

        using var agentScope = logger.BeginScope(new Dictionary<string, object> { ["agent_id"] = agent.Id });
        using var run = runningTasks.Register(taskId, cancellationToken);
        await chat.StartedAsync(taskId, run.Token);
        metrics.ActiveAgents.Inc();
        WorkflowOutcome outcome;
        try
        {
            await using var runScope = scopes.CreateAsyncScope();
            var runner = runScope.ServiceProvider.GetRequiredService<WorkflowRunner>();
            outcome = await runner.RunAsync(new WorkflowRun(taskId, execution.Id, agent.Id, identity.Id), run.Token);
        }
        catch (OperationCanceledException) when (run.IsCancellationRequested)
        {
            outcome = new WorkflowOutcome(WorkflowStatuses.Cancelled, null, new Dictionary<string, object?>());
        }
        catch (Exception ex)
        {
            LogRunCrashed(logger, ex, taskId);
            outcome = new WorkflowOutcome(WorkflowStatuses.Failed, "internal error: " + ex.GetType().Name, new Dictionary<string, object?>());
        }
        finally
        {
            metrics.ActiveAgents.Dec();
            runningTasks.Unregister(taskId);
        }

        if (await FinishAsync(task, execution, agent, outcome, shuttingDown: cancellationToken.IsCancellationRequested))
        {
            await chat.FinishedAsync(taskId, agent.Id, CancellationToken.None);
        }
    }

    private async Task<AgentExecution> StartAgentAsync(DevTask task, WorkflowExecution execution, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var agent = new AgentExecution { TaskId = task.Id, AgentType = task.AgentType, WorkerId = identity.Id, StartedAt = now, Status = AgentStatuses.Running };
        db.AgentExecutions.Add(agent);
        await db.SaveChangesAsync(cancellationToken);
        agent.WorkflowExecutionId = execution.Id;
        events.Add(db, task.Id, EventTypes.TaskStatusUpdate, new { task_id = task.Id, status = TaskStatuses.Running, previous_status = TaskStatuses.Queued, attempt = task.Attempts, worker_id = identity.Id });
        events.Add(db, task.Id, EventTypes.AgentStatusUpdate, new { agent_id = agent.Id, task_id = task.Id, agent_type = agent.AgentType, status = AgentStatuses.Running });
        await db.SaveChangesAsync(cancellationToken);
        return agent;
    }

    /// <summary>Atomically moves the task from queued (or running with an expired lease) to running under this worker.</summary>
    internal async Task<bool> TryClaimAsync(long taskId, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var leaseUntil = now + runningTasks.Lease;
        var workerId = identity.Id;
        var claimed = await db.Tasks
            .Where(t => t.Id == taskId && t.CancelRequestedAt == null &&
                        (t.Status == TaskStatuses.Queued || (t.Status == TaskStatuses.Running && t.LeaseExpiresAt < now)))
            .ExecuteUpdateAsync(s => s
                .SetProperty(t => t.Status, TaskStatuses.Running)
                .SetProperty(t => t.WorkerId, workerId)
                .SetProperty(t => t.LeaseExpiresAt, leaseUntil)
                .SetProperty(t => t.Attempts, t => t.Attempts + 1)
                .SetProperty(t => t.StartedAt, t => t.StartedAt ?? now)
                .SetProperty(t => t.UpdatedAt, now), cancellationToken);
        return claimed == 1;
    }

    /// <summary>Records how the run ended; false when the task was handed back or taken over (not finished here).</summary>
    private async Task<bool> FinishAsync(DevTask task, WorkflowExecution execution, AgentExecution agent, WorkflowOutcome outcome, bool shuttingDown)
    {
        // The run is over: record it even though the job's token may be cancelled (shutdown).
        var ct = CancellationToken.None;
        db.ChangeTracker.Clear();
        var now = timeProvider.GetUtcNow();
        var current = await db.Tasks.AsNoTracking().Where(t => t.Id == task.Id).Select(t => new { t.WorkerId, t.Status, t.CancelRequestedAt, t.Error }).SingleAsync(ct);
        if (current.WorkerId != identity.Id || current.Status != TaskStatuses.Running)
        {
            // Another worker took the task over (our lease had expired): it owns the outcome now.
            await db.AgentExecutions.Where(a => a.Id == agent.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(a => a.Status, AgentStatuses.Abandoned).SetProperty(a => a.CompletedAt, now), ct);
            return false;
        }

        // The status change and its events commit together: a stream that sees the task finished has its last events.
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        if (outcome.Status == WorkflowStatuses.Cancelled && current.CancelRequestedAt is null && shuttingDown)
        {
            // Graceful shutdown: hand the task back so that another worker resumes it now rather than after the lease.
            await db.Tasks.Where(t => t.Id == task.Id && t.WorkerId == identity.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.Status, TaskStatuses.Queued).SetProperty(t => t.WorkerId, (string?)null)
                    .SetProperty(t => t.LeaseExpiresAt, (DateTimeOffset?)null).SetProperty(t => t.UpdatedAt, now), ct);
            await db.AgentExecutions.Where(a => a.Id == agent.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(a => a.Status, AgentStatuses.Abandoned).SetProperty(a => a.CompletedAt, now), ct);
            await db.WorkflowExecutions.Where(w => w.Id == execution.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(w => w.Status, WorkflowStatuses.Queued), ct);
            await events.PublishAsync(db, task.Id, EventTypes.TaskStatusUpdate,
                new { task_id = task.Id, status = TaskStatuses.Queued, previous_status = TaskStatuses.Running, reason = "worker shutting down" }, ct);
            await transaction.CommitAsync(ct);
            return false;
        }

        var status = outcome.Status switch
        {
            WorkflowStatuses.Completed => TaskStatuses.Completed,
            WorkflowStatuses.Cancelled => TaskStatuses.Cancelled,
            WorkflowStatuses.BudgetExceeded => TaskStatuses.BudgetExceeded,
            _ => TaskStatuses.Failed,
        };
        var error = status == TaskStatuses.Cancelled ? current.Error ?? "cancelled" : outcome.Error;
        var result = JsonSerializer.Serialize(outcome.Result, JsonDefaults.Options);
        var branch = outcome.Result.TryGetValue("branch", out var b) ? b?.ToString() : null;
        await db.Tasks.Where(t => t.Id == task.Id)
            .ExecuteUpdateAsync(s => s
                .SetProperty(t => t.Status, status)
                .SetProperty(t => t.Error, error)
                .SetProperty(t => t.Result, result)
                .SetProperty(t => t.Branch, t => branch ?? t.Branch)
                .SetProperty(t => t.CompletedAt, now)
                .SetProperty(t => t.LeaseExpiresAt, (DateTimeOffset?)null)
                .SetProperty(t => t.UpdatedAt, now), ct);
        await db.WorkflowExecutions.Where(w => w.Id == execution.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(w => w.Status, outcome.Status).SetProperty(w => w.Error, outcome.Error).SetProperty(w => w.CompletedAt, now), ct);
        var agentStatus = status switch { TaskStatuses.Completed => AgentStatuses.Completed, TaskStatuses.Cancelled => AgentStatuses.Stopped, _ => AgentStatuses.Failed };
        await db.AgentExecutions.Where(a => a.Id == agent.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.Status, agentStatus).SetProperty(a => a.Error, outcome.Error).SetProperty(a => a.CompletedAt, now), ct);
        events.Add(db, task.Id, EventTypes.AgentStatusUpdate, new { agent_id = agent.Id, task_id = task.Id, agent_type = agent.AgentType, status = agentStatus });
        events.Add(db, task.Id, EventTypes.TaskStatusUpdate, new { task_id = task.Id, status, previous_status = TaskStatuses.Running, error, branch });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        metrics.TaskTransitions.WithLabels(status).Inc();
        if (task.StartedAt is { } started)
        {
            metrics.TaskCompletion.WithLabels(status).Observe(Math.Max(0, (now - started).TotalSeconds));
        }

        LogFinished(logger, task.Id, status, outcome.Error);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Task {TaskId} was not claimable (already taken, finished or cancelled)")]
    private static partial void LogNotClaimed(ILogger logger, long taskId);

    [LoggerMessage(Level = LogLevel.Error, Message = "The run of task {TaskId} crashed")]
    private static partial void LogRunCrashed(ILogger logger, Exception exception, long taskId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId} finished: {Status} {Error}")]
    private static partial void LogFinished(ILogger logger, long taskId, string status, string? error);
}
