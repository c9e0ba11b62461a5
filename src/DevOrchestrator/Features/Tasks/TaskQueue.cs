using DevOrchestrator.Data;
using DevOrchestrator.Features.Events;
using DevOrchestrator.Features.Health;
using DevOrchestrator.Features.Workflows;
using Hangfire;
using Hangfire.States;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Tasks;

/// <summary>
/// Puts tasks in the queue and takes them out: the task row (with a new workflow execution) is committed first, then the
/// job is enqueued, so a crash in between loses nothing (the sweeper enqueues it again).
/// </summary>
public sealed class TaskQueue(AppDbContext db, IBackgroundJobClient jobs, EventPublisher events, TimeProvider timeProvider, DevOrchestratorMetrics metrics, RunningTasks runningTasks)
{
    /// <summary>Queues a saved task to run <paramref name="workflow"/>; returns the new workflow execution.</summary>
    public async Task<WorkflowExecution> QueueAsync(DevTask task, string workflow, string? variablesJson, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var previous = task.Status;
        task.Status = TaskStatuses.Queued;
        task.Workflow = workflow;
        task.Variables = variablesJson ?? task.Variables;
        task.QueuedAt = now;
        task.UpdatedAt = now;
        task.CompletedAt = null;
        task.Error = null;
        task.CancelRequestedAt = null;
        var execution = new WorkflowExecution
        {
            TaskId = task.Id,
            WorkflowName = workflow,
            Status = WorkflowStatuses.Queued,
            Variables = task.Variables,
            CreatedAt = now,
        };
        db.WorkflowExecutions.Add(execution);
        events.Add(db, task.Id, EventTypes.TaskStatusUpdate, new { task_id = task.Id, status = TaskStatuses.Queued, previous_status = previous, workflow });
        await db.SaveChangesAsync(cancellationToken);
        metrics.TaskTransitions.WithLabels(TaskStatuses.Queued).Inc();

        task.JobId = Enqueue(task.Id);
        await db.Tasks.Where(t => t.Id == task.Id).ExecuteUpdateAsync(s => s.SetProperty(t => t.JobId, task.JobId), cancellationToken);
        return execution;
    }

    /// <summary>Enqueues a job for a task (harmless when the task is not claimable: the job then does nothing).</summary>
    public string Enqueue(long taskId) =>
        jobs.Create<TaskJob>(job => job.RunAsync(taskId, CancellationToken.None), new EnqueuedState(TaskDispatch.Queue));

    /// <summary>
    /// Cancels a task: a pending or queued one at once; a running one by flagging it, which its worker notices within
    /// a quarter of a second (at once in this process) and answers by killing the running step.
    /// </summary>
    /// <returns>The task's status after the call, or null when it had already finished.</returns>
    public async Task<string?> CancelAsync(DevTask task, string reason, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (task.Status is TaskStatuses.Pending or TaskStatuses.Queued)
        {
            var previous = task.Status;
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var updated = await db.Tasks
                .Where(t => t.Id == task.Id && (t.Status == TaskStatuses.Pending || t.Status == TaskStatuses.Queued))
                .ExecuteUpdateAsync(s => s
                    .SetProperty(t => t.Status, TaskStatuses.Cancelled)
                    .SetProperty(t => t.CancelRequestedAt, now)
                    .SetProperty(t => t.CompletedAt, now)
                    .SetProperty(t => t.UpdatedAt, now)
                    .SetProperty(t => t.Error, reason), cancellationToken);
            if (updated == 1)
            {
                await db.WorkflowExecutions.Where(w => w.TaskId == task.Id && w.Status == WorkflowStatuses.Queued)
                    .ExecuteUpdateAsync(s => s.SetProperty(w => w.Status, WorkflowStatuses.Cancelled).SetProperty(w => w.CompletedAt, now), cancellationToken);
                await events.PublishAsync(db, task.Id, EventTypes.TaskStatusUpdate,
                    new { task_id = task.Id, status = TaskStatuses.Cancelled, previous_status = previous, reason }, cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                metrics.TaskTransitions.WithLabels(TaskStatuses.Cancelled).Inc();
                return TaskStatuses.Cancelled;
            }

            await transaction.RollbackAsync(cancellationToken);
            await db.Entry(task).ReloadAsync(cancellationToken);
        }

        if (task.Status == TaskStatuses.Running)
        {
            await db.Tasks.Where(t => t.Id == task.Id && t.Status == TaskStatuses.Running && t.CancelRequestedAt == null)
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.CancelRequestedAt, now).SetProperty(t => t.Error, reason), cancellationToken);
            runningTasks.Cancel(task.Id);
            return TaskStatuses.Running;
        }

        return TaskStatuses.IsFinished(task.Status) ? null : task.Status;
    }
}
