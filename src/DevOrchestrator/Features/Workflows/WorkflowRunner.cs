using System.Threading.Channels;
using DevOrchestrator.Abstractions;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Events;
using DevOrchestrator.Features.Health;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Workflows;

/// <summary>
/// Runs a workflow execution step by step. Every step is a row (running, then completed, failed, skipped, cancelled or
/// rolled back) written in its own DI scope, with a <c>workflow.step_completed</c> event in the same commit. A resumed
/// execution does not re-run steps that completed or were skipped; their stored outputs feed later references. A step
/// left running by a worker that died runs again.
/// </summary>
public sealed partial class WorkflowRunner(
    IServiceScopeFactory scopes,
    WorkflowCatalog catalog,
    IEnumerable<IWorkflowActions> plugins,
    IEnumerable<IWorkflowStepHandler> handlers,
    EventPublisher events,
    DevOrchestratorMetrics metrics,
    TimeProvider timeProvider,
    ILogger<WorkflowRunner> logger)
{
    public const string StepProgressEvent = "workflow.step_progress";

    /// <summary>Strings in event payloads are cut to this (events stay small; the step row has the full outputs).</summary>
    private const int EventStringLimit = 1000;

    public async Task<WorkflowOutcome> RunAsync(WorkflowRun run, CancellationToken cancellationToken)
    {
        Tasks.DevTask task;
        Projects.Project? project;
        WorkflowExecution execution;
        List<WorkflowStepExecution> rows;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
            task = await db.Tasks.AsNoTracking().SingleAsync(t => t.Id == run.TaskId, cancellationToken);
            project = task.ProjectId is { } projectId ? await db.Projects.AsNoTracking().FirstOrDefaultAsync(p => p.Id == projectId, cancellationToken) : null;
            execution = await db.WorkflowExecutions.AsNoTracking().SingleAsync(w => w.Id == run.WorkflowExecutionId, cancellationToken);
            rows = await db.WorkflowSteps.AsNoTracking().Where(s => s.WorkflowExecutionId == run.WorkflowExecutionId).OrderBy(s => s.Id).ToListAsync(cancellationToken);
        }

        var state = new RunState(run, execution.WorkflowName);
        if (catalog.Find(execution.WorkflowName) is not { } definition)
        {
            return state.Outcome(WorkflowRunStatus.Failed, $"workflow '{execution.WorkflowName}' does not exist");
        }

        foreach (var planned in definition.Steps.Where(s => s.Type != WorkflowStepTypes.PluginAction))
        {
            if (handlers.LastOrDefault(h => h.Type == planned.Type)?.Preflight(planned) is { } problem)
            {
                return state.Outcome(WorkflowRunStatus.Failed, $"step {planned.Name} cannot run: {problem}");
            }
        }

        var taskInfo = new WorkflowTaskInfo(task.Id, task.Title, task.Description, task.Branch, task.Source, task.ExternalId) { CreatedByUserId = task.CreatedByUserId };
        var projectInfo = project is null ? null : new WorkflowProjectInfo(project.Id, project.Name, project.RepositoryUrl, project.DefaultBranch, project.TestCommand)
        {
            JiraProjectKey = project.JiraProjectKey,
            SlackChannel = project.SlackChannel,
            ConfluenceSpaceKey = project.ConfluenceSpaceKey,
            ConfluenceParentId = project.ConfluenceParentId,
        };
        Dictionary<string, object?> variables;
        try
        {
            variables = ResolveVariables(definition, taskInfo, projectInfo, task.Variables, execution.Variables);
        }
        catch (System.Text.Json.JsonException ex)
        {
            return state.Outcome(WorkflowRunStatus.Failed, "the task's variables are not a JSON object: " + ex.Message);
        }

        var previous = rows.GroupBy(r => r.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
        LogStarting(logger, run.TaskId, definition.Name, run.WorkflowExecutionId, previous.Count);
        for (var index = 0; index < definition.Steps.Count; index++)
        {
            var step = definition.Steps[index];
            previous.TryGetValue(step.Name, out var row);
            if (row is not null && (row.Status is StepStatuses.Completed or StepStatuses.Skipped || (row.Status == StepStatuses.Failed && step.OnError == OnErrorPolicies.Continue)))
            {
                // Resume: this step is done; reuse what it produced.
                var stored = WorkflowJson.ReadObject(row.Outputs);
                state.Record(step, row.Status, stored);
                if (row.Status == StepStatuses.Completed)
                {
                    state.Done.Add(new DoneStep(step, row, Context(step, taskInfo, projectInfo, run, WorkflowJson.ReadObject(row.Inputs), state, null), stored));
                }

                continue;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return state.Outcome(WorkflowRunStatus.Cancelled, null);
            }

            row ??= new WorkflowStepExecution
            {
                WorkflowExecutionId = run.WorkflowExecutionId,
                Name = step.Name,
                Type = step.Type,
                Plugin = step.Plugin,
                Action = step.Action,
            };
            row.Index = index;
            var scopeValues = new WorkflowScope { Variables = variables, Task = taskInfo, Project = projectInfo, Steps = state.Steps };

            bool shouldRun;
            Dictionary<string, object?> inputs;
            try
            {
                shouldRun = step.When is not { } when || WhenExpression.Parse(when).Evaluate(scopeValues.Lookup);
                inputs = (Dictionary<string, object?>)WorkflowTemplate.Resolve(step.Inputs, scopeValues)!;
            }
            catch (FormatException ex)
            {
                row.StartedAt = timeProvider.GetUtcNow();
                await FinishStepAsync(run, step, row, StepStatuses.Failed, ex.Message, new Dictionary<string, object?>(), timeProvider.GetTimestamp(), CancellationToken.None);
                state.Record(step, StepStatuses.Failed, new Dictionary<string, object?>());
                return state.Outcome(WorkflowRunStatus.Failed, $"step {step.Name} failed: {ex.Message}");
            }

            if (!shouldRun)
            {
                row.StartedAt = timeProvider.GetUtcNow();
                row.Inputs = null;
                await FinishStepAsync(run, step, row, StepStatuses.Skipped, null, new Dictionary<string, object?>(), timeProvider.GetTimestamp(), cancellationToken);
                state.Record(step, StepStatuses.Skipped, new Dictionary<string, object?>());
                continue;
            }

            row.Status = StepStatuses.Running;
            row.Attempts++;
            row.Error = null;
            row.Outputs = null;
            row.CompletedAt = null;
            row.DurationMs = null;
            row.StartedAt = timeProvider.GetUtcNow();
            row.Inputs = WorkflowJson.Write(inputs);
            await StartStepAsync(run, row, cancellationToken);

            var started = timeProvider.GetTimestamp();
            await using var progress = new StepProgress(scopes, events, logger, run, step.Name, index);
            var context = Context(step, taskInfo, projectInfo, run, inputs, state, progress);
            IReadOnlyDictionary<string, object?> outputs = new Dictionary<string, object?>();
            string status;
            string? error = null;
            var retries = 0;
            while (true)
            {
                try
                {
                    outputs = await InvokeAsync(step, context, cancellationToken);
                    status = StepStatuses.Completed;
                    break;
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    await FinishStepAsync(run, step, row, StepStatuses.Cancelled, "cancelled", outputs, started, CancellationToken.None);
                    state.Record(step, StepStatuses.Cancelled, outputs);
                    return state.Outcome(WorkflowRunStatus.Cancelled, null);
                }
                catch (WorkflowStepSkippedException ex)
                {
                    // Not configured (no chat plugin, a task without a ticket…): skipped with a visible note, not an error.
                    progress.Report("skipped: " + ex.Message);
                    outputs = new Dictionary<string, object?> { ["skipped"] = true, ["note"] = ex.Message };
                    status = StepStatuses.Skipped;
                    break;
                }
                catch (Exception ex) when (!Data.TransientDatabaseErrors.IsTransient(ex))
                {
                    // (A transient database error is not the step's failure: it ends the run, which goes back to the
                    // queue and resumes at this step; see TaskRun.)
                    error = ex is WorkflowActionException or Costs.BudgetExceededException or Costs.ModelUnavailableException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}";
                    outputs = (ex as WorkflowActionException)?.Outputs ?? new Dictionary<string, object?>();
                    if (ex is not (WorkflowActionException or Costs.BudgetExceededException or Costs.ModelUnavailableException))
                    {
                        LogStepCrashed(logger, ex, run.TaskId, step.Name);
                    }

                    if (ex is Costs.BudgetExceededException)
                    {
                        // Not a step failure a policy can handle: the whole run stops, whatever on_error says.
                        await FinishStepAsync(run, step, row, StepStatuses.Failed, error, outputs, started, CancellationToken.None);
                        state.Record(step, StepStatuses.Failed, outputs);
                        return state.Outcome(WorkflowRunStatus.BudgetExceeded, $"step {step.Name} stopped: {ex.Message}");
                    }

                    if (step.OnError != OnErrorPolicies.Retry || retries >= step.RetryCount || ex is Costs.ModelUnavailableException)
                    {
                        status = StepStatuses.Failed;
                        break;
                    }

                    retries++;
                    row.Attempts++;
                    progress.Report($"attempt failed: {error}; retry {retries} of {step.RetryCount} in {retries}s");
                    try
                    {
                        await Task.Delay(TimeSpan.FromSeconds(retries), timeProvider, cancellationToken);
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        await FinishStepAsync(run, step, row, StepStatuses.Cancelled, "cancelled", outputs, started, CancellationToken.None);
                        state.Record(step, StepStatuses.Cancelled, outputs);
                        return state.Outcome(WorkflowRunStatus.Cancelled, null);
                    }
                }
            }

            outputs = KeepDeclared(outputs, step.Outputs);
            await progress.DisposeAsync();
            await FinishStepAsync(run, step, row, status, error, outputs, started, CancellationToken.None);
            state.Record(step, status, outputs);
            if (status == StepStatuses.Completed)
            {
                state.Done.Add(new DoneStep(step, row, context, outputs));
                continue;
            }

            if (status == StepStatuses.Skipped)
            {
                continue;
            }

            switch (step.OnError)
            {
                case OnErrorPolicies.Continue:
                    continue;
                case OnErrorPolicies.Rollback:
                    var rollbackProblems = await RollbackAsync(run, state, cancellationToken);
                    return state.Outcome(WorkflowRunStatus.Failed,
                        $"step {step.Name} failed: {error}; rolled back {state.Done.Count} step(s){(rollbackProblems.Count > 0 ? " (" + string.Join("; ", rollbackProblems) + ")" : string.Empty)}");
                default:
                    return state.Outcome(WorkflowRunStatus.Failed, $"step {step.Name} failed: {error}");
            }
        }

        LogFinished(logger, run.TaskId, definition.Name);
        return state.Outcome(WorkflowRunStatus.Completed, null);
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

    private async Task<List<string>> RollbackAsync(WorkflowRun run, RunState state, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        foreach (var done in Enumerable.Reverse(state.Done))
        {
            var plugin = done.Step.Type == WorkflowStepTypes.PluginAction ? plugins.LastOrDefault(p => p.Plugin == done.Step.Plugin) : null;
            var started = timeProvider.GetTimestamp();
            try
            {
                if (plugin is not null)
                {
                    await plugin.RollbackAsync(done.Step.Action!, done.Context, done.Outputs, cancellationToken);
                }

                await FinishStepAsync(run, done.Step, done.Row, StepStatuses.RolledBack, null, done.Outputs, started, CancellationToken.None, keepDuration: true);
                state.Record(done.Step, StepStatuses.RolledBack, done.Outputs);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogRollbackFailed(logger, ex, run.TaskId, done.Step.Name);
                problems.Add($"rollback of {done.Step.Name} failed: {ex.Message}");
            }
        }

        return problems;
    }

    private async Task StartStepAsync(WorkflowRun run, WorkflowStepExecution row, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        db.WorkflowSteps.Update(row); // inserts a new row (no key yet), updates a stored one

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        await db.WorkflowExecutions.Where(w => w.Id == run.WorkflowExecutionId)
            .ExecuteUpdateAsync(s => s.SetProperty(w => w.CurrentStep, row.Name), cancellationToken);
        await db.AgentExecutions.Where(a => a.Id == run.AgentExecutionId)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.CurrentStep, row.Name), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private async Task FinishStepAsync(
        WorkflowRun run, WorkflowStepDefinition step, WorkflowStepExecution row, string status, string? error,
        IReadOnlyDictionary<string, object?> outputs, long started, CancellationToken cancellationToken, bool keepDuration = false)
    {
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

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
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
    }

    private static WorkflowActionContext Context(WorkflowStepDefinition step, WorkflowTaskInfo task, WorkflowProjectInfo? project, WorkflowRun run,
        IReadOnlyDictionary<string, object?> inputs, RunState state, IProgress<string>? progress) => new()
    {
        Task = task,
        Project = project,
        WorkflowExecutionId = run.WorkflowExecutionId,
        AgentExecutionId = run.AgentExecutionId,
        StepName = step.Name,
        Inputs = inputs,
        StepOutputs = state.Steps.Where(s => s.Value.Status == StepStatuses.Completed).ToDictionary(s => s.Key, s => s.Value.Outputs, StringComparer.Ordinal),
        Progress = progress,
    };

    private static IReadOnlyDictionary<string, object?> KeepDeclared(IReadOnlyDictionary<string, object?> outputs, IReadOnlyList<string> declared) =>
        declared.Count == 0 ? outputs : outputs.Where(o => declared.Contains(o.Key)).ToDictionary(o => o.Key, o => o.Value, StringComparer.Ordinal);

    private sealed record DoneStep(WorkflowStepDefinition Step, WorkflowStepExecution Row, WorkflowActionContext Context, IReadOnlyDictionary<string, object?> Outputs);

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
        private readonly IServiceScopeFactory _scopes;
        private readonly EventPublisher _events;
        private readonly ILogger _logger;
        private readonly WorkflowRun _run;
        private readonly string _step;
        private readonly int _index;
        private readonly Task _pump;
        private int _count;

        public StepProgress(IServiceScopeFactory scopes, EventPublisher events, ILogger logger, WorkflowRun run, string step, int index)
        {
            _scopes = scopes;
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
                    await using var scope = _scopes.CreateAsyncScope();
                    var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
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
