using DevOrchestrator.Data;
using DevOrchestrator.Features.Health;
using DevOrchestrator.Features.Plugins;
using DevOrchestrator.Features.Workflows;

namespace DevOrchestrator.Features.Tasks;

/// <summary>
/// The run of one task this worker has claimed (<see cref="TaskDispatcher"/>): start it, run its workflow execution
/// under the lease <see cref="RunningTasks"/> renews, and record how it ended — or hand it back to the queue when the
/// worker shuts down or the database failed transiently, so that another run resumes after the last completed step.
/// </summary>
public sealed partial class TaskRun(
    IServiceScopeFactory scopes,
    TaskLifecycle lifecycle,
    RunningTasks runningTasks,
    WorkerIdentity identity,
    TaskChatThread chat,
    Workspaces.WorkspacePool workspaces,
    DevOrchestratorMetrics metrics,
    TimeProvider timeProvider,
    ILogger<TaskRun> logger)
{
    /// <summary>After this many claims a run that keeps meeting database errors fails instead of going back to the queue.</summary>
    public const int MaxAttempts = 5;

    private enum Ending { Finished, HandBack }

    public async Task RunAsync(ClaimedTask claim, CancellationToken shutdown)
    {
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["task_id"] = claim.Id });
        var (task, execution, agent) = await TransientDatabaseErrors.Retry.ExecuteAsync(async ct => await lifecycle.StartRunAsync(claim, identity.Id, ct), shutdown);
        if (task.QueuedAt is { } queuedAt && task.Attempts == 1)
        {
            metrics.DispatchLatency.Observe(Math.Max(0, (timeProvider.GetUtcNow() - queuedAt).TotalSeconds));
        }

        using var agentScope = logger.BeginScope(new Dictionary<string, object> { ["agent_id"] = agent.Id });
        using var activity = Hosting.Tracing.StartTaskRun(task.TraceParent, task.Id, agent.Id, task.Workflow, task.Attempts);
        using var run = runningTasks.Register(task.Id, shutdown);
        await chat.StartedAsync(task.Id, run.Token);
        metrics.ActiveAgents.Inc();
        WorkflowOutcome outcome;
        var ending = Ending.Finished;
        string? handBackReason = null;
        try
        {
            await using var runScope = scopes.CreateAsyncScope();
            var runner = runScope.ServiceProvider.GetRequiredService<WorkflowRunner>();
            outcome = await runner.RunAsync(new WorkflowRun(task.Id, execution.Id, agent.Id, identity.Id), run.Token);
            if (outcome.Status == WorkflowRunStatus.Cancelled && shutdown.IsCancellationRequested)
            {
                (ending, handBackReason) = (Ending.HandBack, "worker shutting down");
            }
        }
        catch (OperationCanceledException) when (run.IsCancellationRequested)
        {
            outcome = new WorkflowOutcome(WorkflowRunStatus.Cancelled, null, new Dictionary<string, object?>());
            if (shutdown.IsCancellationRequested)
            {
                (ending, handBackReason) = (Ending.HandBack, "worker shutting down");
            }
        }
        catch (Exception ex) when (TransientDatabaseErrors.IsTransient(ex) && task.Attempts < MaxAttempts)
        {
            LogTransient(logger, ex, task.Id, task.Attempts);
            outcome = new WorkflowOutcome(WorkflowRunStatus.Failed, "database unavailable", new Dictionary<string, object?>());
            (ending, handBackReason) = (Ending.HandBack, "database error: " + ex.GetType().Name);
        }
        catch (Exception ex)
        {
            LogRunCrashed(logger, ex, task.Id);
            outcome = new WorkflowOutcome(WorkflowRunStatus.Failed, "internal error: " + ex.GetType().Name, new Dictionary<string, object?>());
        }
        finally
        {
            metrics.ActiveAgents.Dec();
            runningTasks.Unregister(task.Id);
        }

        Hosting.Tracing.RecordOutcome(activity, ending == Ending.HandBack ? "handed_back" : WorkflowStatuses.Of(outcome.Status), outcome.Error);

        // The run is over: record it even though the shutdown token may be cancelled.
        if (ending == Ending.HandBack &&
            await TransientDatabaseErrors.RetryLong.ExecuteAsync(async _ => await lifecycle.HandBackAsync(task.Id, execution.Id, agent.Id, identity.Id, handBackReason!), CancellationToken.None))
        {
            return;
        }

        var finished = await TransientDatabaseErrors.RetryLong.ExecuteAsync(async _ => await lifecycle.FinishRunAsync(task, execution.Id, agent, identity.Id, outcome), CancellationToken.None);
        if (finished)
        {
            var status = WorkflowStatuses.Of(outcome.Status);
            LogFinished(logger, task.Id, status, outcome.Error);
            await chat.FinishedAsync(task.Id, agent.Id, CancellationToken.None);
            if (task.Source != TaskSources.Cli)
            {
                // Its worktree goes back to the project's pool for the next task (the CLI reports from it first; the
                // reclaimer takes it later). Not after a hand-back or a takeover: the resumed run needs it.
                await workspaces.ReleaseAsync(task.Id, execution.Id, CancellationToken.None);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The run of task {TaskId} crashed")]
    private static partial void LogRunCrashed(ILogger logger, Exception exception, long taskId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The run of task {TaskId} (attempt {Attempt}) met a transient database error; handing it back to the queue")]
    private static partial void LogTransient(ILogger logger, Exception exception, long taskId, int attempt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId} finished: {Status} {Error}")]
    private static partial void LogFinished(ILogger logger, long taskId, string status, string? error);
}
