using System.Threading.Channels;
using DevOrchestrator.Abstractions;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Events;
using DevOrchestrator.Features.Health;
using DevOrchestrator.Features.Workspaces;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Workflows;

/// <summary>
/// Runs a workflow execution step by step. Every step is a row (running, then completed, failed, skipped, cancelled or
/// rolled back) written in its own DI scope, with a <c>workflow.step_completed</c> event in the same commit. A resumed
/// execution does not re-run steps that completed or were skipped; their stored outputs feed later references. A step
/// left running by a worker that died runs again.
/// </summary>
public sealed partial class WorkflowRunner(
    IDbContextFactory<AppDbContext> dbContexts,
    WorkflowCatalog catalog,
    IEnumerable<IWorkflowActions> plugins,
    IEnumerable<IWorkflowStepHandler> handlers,
    EventPublisher events,
    Sandbox sandbox,
    DevOrchestratorMetrics metrics,
    TimeProvider timeProvider,
    ILogger<WorkflowRunner> logger)
{
    public const string StepProgressEvent = "workflow.step_progress";

    /// <summary>Strings in event payloads are cut to this (events stay small; the step row has the full outputs).</summary>
    private const int EventStringLimit = 1000;

    public async Task<WorkflowOutcome> RunAsync(WorkflowRun run, CancellationToken cancellationToken)
    {
        var stored = await LoadAsync(run, cancellationToken);
        var state = new RunState(run, stored.Execution.WorkflowName);
        if (catalog.Find(stored.Execution.WorkflowName) is not { } definition)
        {
            return state.Outcome(WorkflowRunStatus.Failed, $"workflow '{stored.Execution.WorkflowName}' does not exist");
        }

        if (Preflight(definition) is { } problem)
        {
            return state.Outcome(WorkflowRunStatus.Failed, problem);
        }

        var task = TaskInfo(stored.Task);
        var project = ProjectInfo(stored.Project);
        Dictionary<string, object?> variables;
        try
        {
            variables = ResolveVariables(definition, task, project, stored.Task.Variables, stored.Execution.Variables);
        }
        catch (System.Text.Json.JsonException ex)
        {
            return state.Outcome(WorkflowRunStatus.Failed, "the task's variables are not a JSON object: " + ex.Message);
        }

        await AnnounceSandboxAsync(run, definition, project, cancellationToken);
        var active = new ActiveRun(run, task, project, variables, state);
        var previous = stored.Steps.GroupBy(r => r.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
        LogStarting(logger, run.TaskId, definition.Name, run.WorkflowExecutionId, previous.Count);
        for (var index = 0; index < definition.Steps.Count; index++)
        {
            var step = definition.Steps[index];
            if (await RunStepAsync(active, step, index, previous.GetValueOrDefault(step.Name), cancellationToken) is { } ended)
            {
                return ended;
            }
        }

        LogFinished(logger, run.TaskId, definition.Name);
        return state.Outcome(WorkflowRunStatus.Completed, null);
    }

    /// <summary>
    /// The run's <c>task.sandbox</c> event, when the workflow runs commands (an <c>ai_action</c> or <c>workspace.run_command</c>
    /// step): whether they have network — only with the project's <c>sandbox_network: true</c>, or when the sandbox is a
    /// plain process that cannot take it away.
    /// </summary>
    private async Task AnnounceSandboxAsync(WorkflowRun run, WorkflowDefinition definition, WorkflowProjectInfo? project, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested || !definition.Steps.Any(s => s.Type == WorkflowStepTypes.AiAction || s.Qualified == "workspace.run_command"))
        {
            return; // a cancelled run ends as cancelled at its first step
        }

        // Not cut by the run's token: the event is one short write, and the probe runs once per process.
        string mode;
        try
        {
            mode = await sandbox.GetModeAsync(CancellationToken.None);
        }
        catch (InvalidOperationException)
        {
            mode = "unavailable"; // SANDBOX_MODE=bubblewrap that does not work: every command fails, saying why.
        }

        var optIn = project?.SandboxNetwork == true;
        var network = optIn || mode == Sandbox.ProcessMode;
        var message = optIn ? "commands of this task run with network: the project has sandbox_network: true"
            : network ? "commands of this task are not network-isolated: the sandbox runs them as plain processes (" + sandbox.FallbackReason + ")"
            : "commands of this task run without network (the project's sandbox_network is false)";
        await using var db = dbContexts.CreateDbContext();
        events.Add(db, run.TaskId, EventTypes.TaskSandbox, new
        {
            task_id = run.TaskId,
            workflow_execution_id = run.WorkflowExecutionId,
            network,
            sandbox_network = optIn,
            sandbox_mode = mode,
            message,
        });
        await db.SaveChangesAsync(CancellationToken.None);
    }

    /// <summary>The task, its project, the execution and the step rows recorded so far (by an earlier run of it).</summary>
    private async Task<StoredRun> LoadAsync(WorkflowRun run, CancellationToken cancellationToken)
    {
        await using var db = dbContexts.CreateDbContext();
        var task = await db.Tasks.AsNoTracking().SingleAsync(t => t.Id == run.TaskId, cancellationToken);
        var project = task.ProjectId is { } projectId ? await db.Projects.AsNoTracking().FirstOrDefaultAsync(p => p.Id == projectId, cancellationToken) : null;
        var execution = await db.WorkflowExecutions.AsNoTracking().SingleAsync(w => w.Id == run.WorkflowExecutionId, cancellationToken);
        var steps = await db.WorkflowSteps.AsNoTracking().Where(s => s.WorkflowExecutionId == run.WorkflowExecutionId).OrderBy(s => s.Id).ToListAsync(cancellationToken);
        return new StoredRun(task, project, execution, steps);
    }

    /// <summary>Why a step of the workflow cannot run at all (before any step ran), or null. Plugin actions are checked when they run.</summary>
    private string? Preflight(WorkflowDefinition definition)
    {
        foreach (var planned in definition.Steps.Where(s => s.Type != WorkflowStepTypes.PluginAction))
        {
            if (handlers.LastOrDefault(h => h.Type == planned.Type)?.Preflight(planned) is { } problem)
            {
                return $"step {planned.Name} cannot run: {problem}";
            }
        }

        return null;
    }

    private static WorkflowTaskInfo TaskInfo(DevTask task) =>
        new(task.Id, task.Title, task.Description, task.Branch, task.Source, task.ExternalId) { CreatedByUserId = task.CreatedByUserId };

    private static WorkflowProjectInfo? ProjectInfo(Project? project) => project is null ? null
        : new WorkflowProjectInfo(project.Id, project.Name, project.RepositoryUrl, project.DefaultBranch, project.TestCommand)
        {
            JiraProjectKey = project.JiraProjectKey,
            SlackChannel = project.SlackChannel,
            ConfluenceSpaceKey = project.ConfluenceSpaceKey,
            ConfluenceParentId = project.ConfluenceParentId,
            SetupCommands = project.SetupCommands,
            SandboxNetwork = project.SandboxNetwork,
        };

    /// <summary>One step: reused when an earlier run finished it, else skipped or run. Returns the run's outcome when the step ends the run.</summary>
    private async Task<WorkflowOutcome?> RunStepAsync(ActiveRun active, WorkflowStepDefinition step, int index, WorkflowStepExecution? row, CancellationToken cancellationToken)
    {
        if (row is not null && IsDone(step, row))
        {
            Reuse(active, step, row);
            return null;
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return active.State.Outcome(WorkflowRunStatus.Cancelled, null);
        }

        row ??= NewRow(active.Run, step);
        row.Index = index;
        bool shouldRun;
        Dictionary<string, object?> inputs;
        try
        {
            (shouldRun, inputs) = Decide(active, step);
        }
        catch (FormatException ex)
        {
            await EndUnstartedStepAsync(active, step, row, StepStatuses.Failed, ex.Message, CancellationToken.None);
            return active.State.Outcome(WorkflowRunStatus.Failed, $"step {step.Name} failed: {ex.Message}");
        }

        if (!shouldRun)
        {
            row.Inputs = null;
            await EndUnstartedStepAsync(active, step, row, StepStatuses.Skipped, null, cancellationToken);
            return null;
        }

        await StartStepAsync(active.Run, row, inputs, cancellationToken);
        return await ExecuteStepAsync(active, step, index, row, inputs, cancellationToken);
    }

    /// <summary>A started step: invoked under its retry policy, finished, and its <c>on_error</c> applied when it failed.</summary>
    private async Task<WorkflowOutcome?> ExecuteStepAsync(
        ActiveRun active, WorkflowStepDefinition step, int index, WorkflowStepExecution row, Dictionary<string, object?> inputs, CancellationToken cancellationToken)
    {
        var started = timeProvider.GetTimestamp();
        using var activity = Hosting.Tracing.StartWorkflowStep(step.Name, step.Type, index, step.Plugin, step.Action);
        await using var progress = new StepProgress(dbContexts, events, logger, active.Run, step.Name, index);
        var context = Context(step, active, inputs, progress);
        var attempt = await InvokeWithPolicyAsync(active.Run, step, row, context, progress, cancellationToken);
        Hosting.Tracing.RecordOutcome(activity, attempt.Ending.ToString().ToLowerInvariant(), attempt.Ending == StepEnding.Completed ? null : attempt.Error);
        switch (attempt.Ending)
        {
            case StepEnding.Cancelled:
                await FinishStepAsync(active, step, row, StepStatuses.Cancelled, "cancelled", attempt.Outputs, started, CancellationToken.None);
                return active.State.Outcome(WorkflowRunStatus.Cancelled, null);
            case StepEnding.BudgetExceeded:
                // Not a step failure a policy can handle: the whole run stops, whatever on_error says.
                await FinishStepAsync(active, step, row, StepStatuses.Failed, attempt.Error, attempt.Outputs, started, CancellationToken.None);
                return active.State.Outcome(WorkflowRunStatus.BudgetExceeded, $"step {step.Name} stopped: {attempt.Error}");
        }

        var status = attempt.Ending switch { StepEnding.Completed => StepStatuses.Completed, StepEnding.Skipped => StepStatuses.Skipped, _ => StepStatuses.Failed };
        var outputs = KeepDeclared(attempt.Outputs, step.Outputs);
        await progress.DisposeAsync();
        await FinishStepAsync(active, step, row, status, attempt.Error, outputs, started, CancellationToken.None);
        if (attempt.Ending == StepEnding.Completed)
        {
            active.State.Done.Add(new DoneStep(step, row, context, outputs));
        }

        return attempt.Ending == StepEnding.Failed ? await ApplyOnErrorAsync(active, step, attempt.Error, cancellationToken) : null;
    }

    /// <summary>A step that ends before it starts (skipped by its <c>when</c>, or inputs that cannot be resolved): stored with no outputs.</summary>
    private Task EndUnstartedStepAsync(ActiveRun active, WorkflowStepDefinition step, WorkflowStepExecution row, string status, string? error, CancellationToken cancellationToken)
    {
        row.StartedAt = timeProvider.GetUtcNow();
        return FinishStepAsync(active, step, row, status, error, new Dictionary<string, object?>(), timeProvider.GetTimestamp(), cancellationToken);
    }

    /// <summary>A step an earlier run finished: completed, skipped, or failed under <c>on_error: continue</c>.</summary>
    private static bool IsDone(WorkflowStepDefinition step, WorkflowStepExecution row) =>
        row.Status is StepStatuses.Completed or StepStatuses.Skipped || (row.Status == StepStatuses.Failed && step.OnError == OnErrorPolicies.Continue);

    /// <summary>Resume: the step is done; what it produced feeds later references (and its rollback, if it completed).</summary>
    private static void Reuse(ActiveRun active, WorkflowStepDefinition step, WorkflowStepExecution row)
    {
        var stored = WorkflowJson.ReadObject(row.Outputs);
        active.State.Record(step, row.Status, stored);
        if (row.Status == StepStatuses.Completed)
        {
            active.State.Done.Add(new DoneStep(step, row, Context(step, active, WorkflowJson.ReadObject(row.Inputs), null), stored));
        }
    }

    private static WorkflowStepExecution NewRow(WorkflowRun run, WorkflowStepDefinition step) => new()
    {
        WorkflowExecutionId = run.WorkflowExecutionId,
        Name = step.Name,
        Type = step.Type,
        Plugin = step.Plugin,
        Action = step.Action,
    };

    /// <summary>Whether the step runs (its <c>when</c>) and its inputs, resolved against the run so far. Throws <see cref="FormatException"/> for a bad expression or reference.</summary>
    private static (bool ShouldRun, Dictionary<string, object?> Inputs) Decide(ActiveRun active, WorkflowStepDefinition step)
    {
        var scope = new WorkflowScope { Variables = active.Variables, Task = active.Task, Project = active.Project, Steps = active.State.Steps };
        var shouldRun = step.When is not { } when || WhenExpression.Parse(when).Evaluate(scope.Lookup);
        return (shouldRun, (Dictionary<string, object?>)WorkflowTemplate.Resolve(step.Inputs, scope)!);
    }

    /// <summary>
    /// Invokes the step, retrying under <c>on_error: retry</c> (a delay of one more second each time). A skip
    /// (<see cref="WorkflowStepSkippedException"/>) is not an error; a budget stop or a cancellation ends the run.
    /// </summary>
    private async Task<StepAttempt> InvokeWithPolicyAsync(
        WorkflowRun run, WorkflowStepDefinition step, WorkflowStepExecution row, WorkflowActionContext context, StepProgress progress, CancellationToken cancellationToken)
    {
        IReadOnlyDictionary<string, object?> outputs = new Dictionary<string, object?>();
        string? error = null; // a step that completes (or skips) on a retry keeps the last failed attempt's error
        var retries = 0;
        while (true)
        {
            try
            {
                return new StepAttempt(StepEnding.Completed, await InvokeAsync(step, context, cancellationToken), error);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return new StepAttempt(StepEnding.Cancelled, outputs, null);
            }
            catch (WorkflowStepSkippedException ex)
            {
                // Not configured (no chat plugin, a task without a ticket…): skipped with a visible note, not an error.
                progress.Report("skipped: " + ex.Message);
                return new StepAttempt(StepEnding.Skipped, new Dictionary<string, object?> { ["skipped"] = true, ["note"] = ex.Message }, error);
            }
            catch (Exception ex) when (!Data.TransientDatabaseErrors.IsTransient(ex))
            {
                // (A transient database error is not the step's failure: it ends the run, which goes back to the
                // queue and resumes at this step; see TaskRun.)
                error = StepError(run, step, ex);
                outputs = (ex as WorkflowActionException)?.Outputs ?? (ex as Costs.BudgetExceededException)?.Outputs ?? new Dictionary<string, object?>();
                if (ex is Costs.BudgetExceededException)
                {
                    return new StepAttempt(StepEnding.BudgetExceeded, outputs, error);
                }

                if (step.OnError != OnErrorPolicies.Retry || retries >= step.RetryCount || ex is Costs.ModelUnavailableException)
                {
                    return new StepAttempt(StepEnding.Failed, outputs, error);
                }

                retries++;
                row.Attempts++;
                progress.Report($"attempt failed: {error}; retry {retries} of {step.RetryCount} in {retries}s");
                if (!await WaitToRetryAsync(retries, cancellationToken))
                {
                    return new StepAttempt(StepEnding.Cancelled, outputs, null);
                }
            }
        }
    }

    /// <summary>The error a failed attempt records: the message of an expected failure; the type too (and a log entry) for a crash.</summary>
    private string StepError(WorkflowRun run, WorkflowStepDefinition step, Exception exception)
    {
        if (exception is WorkflowActionException or Costs.BudgetExceededException or Costs.ModelUnavailableException)
        {
            return exception.Message;
        }

        LogStepCrashed(logger, exception, run.TaskId, step.Name);
        return $"{exception.GetType().Name}: {exception.Message}";
    }

    /// <summary>Waits one second per retry so far; false when the run was cancelled meanwhile.</summary>
    private async Task<bool> WaitToRetryAsync(int retries, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(retries), timeProvider, cancellationToken);
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>A failed step's <c>on_error</c>: continue with the next step, roll back the completed ones, or fail the run.</summary>
    private async Task<WorkflowOutcome?> ApplyOnErrorAsync(ActiveRun active, WorkflowStepDefinition step, string? error, CancellationToken cancellationToken)
    {
        switch (step.OnError)
        {
            case OnErrorPolicies.Continue:
                return null;
            case OnErrorPolicies.Rollback:
                var rollbackProblems = await RollbackAsync(active, cancellationToken);
                return active.State.Outcome(WorkflowRunStatus.Failed,
                    $"step {step.Name} failed: {error}; rolled back {active.State.Done.Count} step(s){(rollbackProblems.Count > 0 ? " (" + string.Join("; ", rollbackProblems) + ")" : string.Empty)}");
            default:
                return active.State.Outcome(WorkflowRunStatus.Failed, $"step {step.Name} failed: {error}");
        }
    }

    /// <summary>Workflow variables (their <c>${task…}</c>/<c>${project…}</c> resolved), then the task's and the execution's variables over them.</summary>
    internal static Dictionary<string, object?> ResolveVariables(WorkflowDefinition definition, WorkflowTaskInfo task, WorkflowProjectInfo? project, string? taskVariables, string? executionVariables)
    {
        var scope = new WorkflowScope { Task = task, Project = project };
        var variables = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, value) in definition.Variables)
        {
            variables[name] = WorkflowTemplate.Resolve(value, scope);
        }

        // Given values are data, taken literally: no ${…} in them is resolved.
        foreach (var (name, value) in WorkflowJson.ReadObject(taskVariables).Concat(WorkflowJson.ReadObject(executionVariables)))
        {
            variables[name] = value;
        }

        return variables;
    }

    private Task<IReadOnlyDictionary<string, object?>> InvokeAsync(WorkflowStepDefinition step, WorkflowActionContext context, CancellationToken cancellationToken)
    {
        if (step.Type == WorkflowStepTypes.PluginAction)
        {
            var plugin = plugins.LastOrDefault(p => p.Plugin == step.Plugin)
                ?? throw new WorkflowActionException($"plugin '{step.Plugin}' is not available");
            return plugin.InvokeAsync(step.Action!, context, cancellationToken);
        }

        var handler = handlers.LastOrDefault(h => h.Type == step.Type)
            ?? throw new WorkflowActionException($"type {step.Type} is not available");
        return handler.RunAsync(step, context, cancellationToken);
    }

    private async Task<List<string>> RollbackAsync(ActiveRun active, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        foreach (var done in Enumerable.Reverse(active.State.Done))
        {
            var plugin = done.Step.Type == WorkflowStepTypes.PluginAction ? plugins.LastOrDefault(p => p.Plugin == done.Step.Plugin) : null;
            var started = timeProvider.GetTimestamp();
            try
            {
                if (plugin is not null)
                {
                    await plugin.RollbackAsync(done.Step.Action!, done.Context, done.Outputs, cancellationToken);
                }

                await FinishStepAsync(active, done.Step, done.Row, StepStatuses.RolledBack, null, done.Outputs, started, CancellationToken.None, keepDuration: true);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogRollbackFailed(logger, ex, active.Run.TaskId, done.Step.Name);
                problems.Add($"rollback of {done.Step.Name} failed: {ex.Message}");
            }
        }

        return problems;
    }

    /// <summary>Marks the step running (a new attempt with these inputs) and makes it the execution's current step, in one commit.</summary>
    private async Task StartStepAsync(WorkflowRun run, WorkflowStepExecution row, Dictionary<string, object?> inputs, CancellationToken cancellationToken)
    {
        row.Status = StepStatuses.Running;
        row.Attempts++;
        row.Error = null;
        row.Outputs = null;
        row.CompletedAt = null;
        row.DurationMs = null;
        row.StartedAt = timeProvider.GetUtcNow();
        row.Inputs = WorkflowJson.Write(inputs);

        await using var db = dbContexts.CreateDbContext();
        db.WorkflowSteps.Update(row); // inserts a new row (no key yet), updates a stored one

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        await db.WorkflowExecutions.Where(w => w.Id == run.WorkflowExecutionId)
            .ExecuteUpdateAsync(s => s.SetProperty(w => w.CurrentStep, row.Name), cancellationToken);
        await db.AgentExecutions.Where(a => a.Id == run.AgentExecutionId)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.CurrentStep, row.Name), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Stores how the step ended with its <c>workflow.step_completed</c> event (one commit), then records it in the run's state.</summary>
    private async Task FinishStepAsync(
        ActiveRun active, WorkflowStepDefinition step, WorkflowStepExecution row, string status, string? error,
        IReadOnlyDictionary<string, object?> outputs, long started, CancellationToken cancellationToken, bool keepDuration = false)
    {
        var run = active.Run;
        row.Status = status;
        row.Error = error is null ? null : (string?)WorkflowJson.Bound(error);
        row.Outputs = WorkflowJson.Write(outputs);
        row.CompletedAt ??= timeProvider.GetUtcNow();
        if (status != StepStatuses.RolledBack)
        {
            row.CompletedAt = timeProvider.GetUtcNow();
        }

        if (!keepDuration || row.DurationMs is null)
        {
            row.DurationMs = (long)timeProvider.GetElapsedTime(started).TotalMilliseconds;
        }

        await using var db = dbContexts.CreateDbContext();
        db.WorkflowSteps.Update(row); // inserts a new row (no key yet), updates a stored one

        events.Add(db, run.TaskId, EventTypes.WorkflowStepCompleted, new
        {
            task_id = run.TaskId,
            workflow_execution_id = run.WorkflowExecutionId,
            step = step.Name,
            index = row.Index,
            action = step.Qualified,
            status,
            duration_ms = row.DurationMs,
            error = row.Error is null ? null : (string?)WorkflowJson.Bound(row.Error, EventStringLimit),
            outputs = WorkflowJson.Bound(outputs, EventStringLimit),
        });
        await db.SaveChangesAsync(cancellationToken);
        metrics.WorkflowSteps.WithLabels(step.Qualified, status).Inc();
        LogStep(logger, run.TaskId, step.Name, status, row.DurationMs ?? 0, error);
        active.State.Record(step, status, outputs);
    }

    private static WorkflowActionContext Context(WorkflowStepDefinition step, ActiveRun active, IReadOnlyDictionary<string, object?> inputs, IProgress<string>? progress) => new()
    {
        Task = active.Task,
        Project = active.Project,
        WorkflowExecutionId = active.Run.WorkflowExecutionId,
        AgentExecutionId = active.Run.AgentExecutionId,
        StepName = step.Name,
        Inputs = inputs,
        StepOutputs = active.State.Steps.Where(s => s.Value.Status == StepStatuses.Completed).ToDictionary(s => s.Key, s => s.Value.Outputs, StringComparer.Ordinal),
        Progress = progress,
    };

    private static IReadOnlyDictionary<string, object?> KeepDeclared(IReadOnlyDictionary<string, object?> outputs, IReadOnlyList<string> declared) =>
        declared.Count == 0 ? outputs : outputs.Where(o => declared.Contains(o.Key)).ToDictionary(o => o.Key, o => o.Value, StringComparer.Ordinal);

    private sealed record DoneStep(WorkflowStepDefinition Step, WorkflowStepExecution Row, WorkflowActionContext Context, IReadOnlyDictionary<string, object?> Outputs);

    /// <summary>What a run has read from the database before it starts.</summary>
    private sealed record StoredRun(DevTask Task, Project? Project, WorkflowExecution Execution, List<WorkflowStepExecution> Steps);

    /// <summary>The run under way: what its steps resolve against, and what they have done.</summary>
    private sealed record ActiveRun(WorkflowRun Run, WorkflowTaskInfo Task, WorkflowProjectInfo? Project, Dictionary<string, object?> Variables, RunState State);

    /// <summary>How invoking a step (with its retries) ended.</summary>
    private enum StepEnding { Completed, Skipped, Failed, Cancelled, BudgetExceeded }

    private sealed record StepAttempt(StepEnding Ending, IReadOnlyDictionary<string, object?> Outputs, string? Error);

    /// <summary>What the run has done so far, and the outcome it makes.</summary>
    private sealed class RunState(WorkflowRun run, string workflow)
    {
        private readonly Dictionary<string, WorkflowStepState> _steps = new(StringComparer.Ordinal);
        private readonly List<string> _order = [];

        public IReadOnlyDictionary<string, WorkflowStepState> Steps => _steps;

        public List<DoneStep> Done { get; } = [];

        public void Record(WorkflowStepDefinition step, string status, IReadOnlyDictionary<string, object?> outputs)
        {
            if (!_steps.ContainsKey(step.Name))
            {
                _order.Add(step.Name);
            }

            _steps[step.Name] = new WorkflowStepState(status, outputs);
        }

        public WorkflowOutcome Outcome(WorkflowRunStatus status, string? error)
        {
            var result = WorkflowResult.Of(workflow, run.WorkflowExecutionId, [.. _order.Select(n => KeyValuePair.Create(n, _steps[n]))]);
            return new WorkflowOutcome(status, error, result.ToJsonObject()) { Branch = result.Branch };
        }
    }

    /// <summary>Progress lines of a running step, published as <c>workflow.step_progress</c> events off the step's path.</summary>
    private sealed class StepProgress : IProgress<string>, IAsyncDisposable
    {
        private const int MaxLines = 500;
        private readonly Channel<string> _lines = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
        private readonly IDbContextFactory<AppDbContext> _dbContexts;
        private readonly EventPublisher _events;
        private readonly ILogger _logger;
        private readonly WorkflowRun _run;
        private readonly string _step;
        private readonly int _index;
        private readonly Task _pump;
        private int _count;

        public StepProgress(IDbContextFactory<AppDbContext> dbContexts, EventPublisher events, ILogger logger, WorkflowRun run, string step, int index)
        {
            _dbContexts = dbContexts;
            _events = events;
            _logger = logger;
            _run = run;
            _step = step;
            _index = index;
            _pump = Task.Run(PumpAsync);
        }

        public void Report(string value)
        {
            if (Interlocked.Increment(ref _count) <= MaxLines)
            {
                _lines.Writer.TryWrite(value.Length > EventStringLimit ? value[..EventStringLimit] + "…" : value);
            }
        }

        public async ValueTask DisposeAsync()
        {
            _lines.Writer.TryComplete();
            await _pump;
        }

        private async Task PumpAsync()
        {
            try
            {
                while (await _lines.Reader.WaitToReadAsync(CancellationToken.None))
                {
                    await using var db = _dbContexts.CreateDbContext();
                    while (_lines.Reader.TryRead(out var line))
                    {
                        _events.Add(db, _run.TaskId, StepProgressEvent, new
                        {
                            task_id = _run.TaskId,
                            workflow_execution_id = _run.WorkflowExecutionId,
                            step = _step,
                            index = _index,
                            message = line,
                        });
                    }

                    await db.SaveChangesAsync(CancellationToken.None);
                }
            }
            catch (Exception ex)
            {
                // Progress is informational: losing it must not fail the step.
                LogProgressLost(_logger, ex, _run.TaskId, _step);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId}: running workflow {Workflow} (execution {ExecutionId}, {Previous} step(s) recorded before)")]
    private static partial void LogStarting(ILogger logger, long taskId, string workflow, long executionId, int previous);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId}: step {Step} {Status} in {DurationMs} ms {Error}")]
    private static partial void LogStep(ILogger logger, long taskId, string step, string status, long durationMs, string? error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId}: workflow {Workflow} completed")]
    private static partial void LogFinished(ILogger logger, long taskId, string workflow);

    [LoggerMessage(Level = LogLevel.Error, Message = "Task {TaskId}: step {Step} crashed")]
    private static partial void LogStepCrashed(ILogger logger, Exception exception, long taskId, string step);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId}: rollback of step {Step} failed")]
    private static partial void LogRollbackFailed(ILogger logger, Exception exception, long taskId, string step);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId}: progress events of step {Step} were lost")]
    private static partial void LogProgressLost(ILogger logger, Exception exception, long taskId, string step);
}
