using DevOrchestrator.Abstractions;
using DevOrchestrator.Features.Agents.Prompts;
using DevOrchestrator.Features.Costs;
using DevOrchestrator.Features.Workflows;
using DevOrchestrator.Features.Workspaces;
using DevOrchestrator.Hosting;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Agents;

/// <summary>
/// Runs <c>ai_action</c> steps. The step's <c>agent:</c> key picks what runs in the task's worktree:
/// <list type="bullet">
/// <item><c>development</c> — the development agent (inputs: <c>instructions</c>, <c>max_turns</c>; the step key
/// <c>prompt_template:</c> names a step instruction template, rendered before the <c>instructions</c> input);</item>
/// <item><c>verify</c> — the project's test command (input <c>command</c>, else the project's, else detected); on failure
/// the output goes back to the development conversation (input <c>conversation</c>, default <c>implement</c>) up to
/// <c>attempts</c> times (default <c>AGENT_VERIFY_ATTEMPTS</c>);</item>
/// <item><c>review</c> — the review agent on the task and the final diff; changes requested send the work back to the
/// development conversation once, then the verification runs again and the review is repeated.</item>
/// </list>
/// A call that would break a budget stops the run: the partial work is committed on the task's branch first.
/// </summary>
public sealed partial class AiActionHandler(
    ModelClients models,
    DevelopmentAgent developer,
    ReviewAgent reviewer,
    PromptTemplates prompts,
    AgentCheckpoints checkpoints,
    WorkspaceActions workspace,
    Sandbox sandbox,
    IOptions<AgentOptions> agentOptions,
    IOptions<SandboxOptions> sandboxOptions,
    IOptions<WorkspaceOptions> workspaceOptions,
    ILogger<AiActionHandler> logger,
    SecretScanner? secretScanner = null) : IWorkflowStepHandler, IDisposable
{
    public const string Development = "development";
    public const string Verify = "verify";
    public const string Review = "review";
    public const string DefaultConversation = "implement";

    private static readonly string[] s_agents = [Development, Verify, Review];

    /// <summary>MAX_CONCURRENT_AGENTS: agent steps running at once in this process; more wait for a slot.</summary>
    private readonly SemaphoreSlim _slots = new(agentOptions.Value.MaxConcurrentAgents, agentOptions.Value.MaxConcurrentAgents);

    public string Type => WorkflowStepTypes.AiAction;

    public IReadOnlyList<string> Keys { get; } = ["agent", "prompt_template"];

    public IReadOnlyDictionary<string, WorkflowInputType> InputTypes { get; } = new Dictionary<string, WorkflowInputType>
    {
        ["max_turns"] = WorkflowInputType.PositiveNumber,
        ["attempts"] = WorkflowInputType.WholeNumber,
    };

    public string? Check(WorkflowStepDefinition step)
    {
        if (!step.Settings.TryGetValue("agent", out var agent) || agent is null)
        {
            return $"ai_action step '{step.Name}' needs an agent: key ({string.Join(", ", s_agents)})";
        }

        if (!s_agents.Contains(agent))
        {
            return $"ai_action agent must be one of {string.Join(", ", s_agents)} (got '{agent}')";
        }

        if (!step.Settings.TryGetValue("prompt_template", out var template) || template is null)
        {
            return null;
        }

        if (agent != Development)
        {
            return $"prompt_template applies to agent: {Development} only (this step's agent is {agent})";
        }

        return prompts.IsInstructions(template) ? null
            : $"prompt_template '{template}' is not a step instruction template: add {Path.Combine(prompts.Directory, template + PromptTemplates.Extension)} "
                + $"(instruction templates: {string.Join(", ", prompts.List().Where(p => p.Kind == PromptCatalog.InstructionsKind).Select(p => p.Name))}; see devorch prompts list)";
    }

    public string? Preflight(WorkflowStepDefinition step)
    {
        var role = AgentOf(step) switch { Review => AgentRoles.Review, Verify => null, _ => AgentRoles.Development };
        if (role is null)
        {
            return null;
        }

        try
        {
            models.EnsureUsable(role);
            return null;
        }
        catch (ModelUnavailableException ex)
        {
            return ex.Message;
        }
    }

    public async Task<IReadOnlyDictionary<string, object?>> RunAsync(WorkflowStepDefinition step, WorkflowActionContext context, CancellationToken cancellationToken)
    {
        var worktree = workspace.WorktreePath(context);
        if (!Directory.Exists(worktree))
        {
            throw new WorkflowActionException("there is no workspace for this task: run workspace.prepare before an ai_action step");
        }

        if (!_slots.Wait(0, CancellationToken.None))
        {
            context.Progress?.Report($"waiting for an agent slot (MAX_CONCURRENT_AGENTS={agentOptions.Value.MaxConcurrentAgents} agents are running in this worker)");
            await _slots.WaitAsync(cancellationToken);
        }

        try
        {
            return AgentOf(step) switch
            {
                Verify => await VerifyAsync(step, context, worktree, cancellationToken),
                Review => await ReviewAsync(step, context, worktree, cancellationToken),
                _ => await DevelopAsync(step, context, worktree, cancellationToken),
            };
        }
        catch (BudgetExceededException ex)
        {
            // The step's outputs say where the partial work was pushed (the task's branch is only ever a pushed one).
            var pushed = await KeepPartialWorkAsync(context, ex, cancellationToken);
            if (pushed is null)
            {
                throw;
            }

            throw new BudgetExceededException(ex.Message, ex.Budget, ex.LimitUsd, ex.SpentUsd) { Outputs = pushed };
        }
        catch (Exception ex) when (ModelResilience.IsModelFailure(ex) && !cancellationToken.IsCancellationRequested)
        {
            throw new WorkflowActionException($"the model call failed after retries: {ModelResilience.Describe(ex)}", ex);
        }
        finally
        {
            _slots.Release();
        }
    }

    private static string AgentOf(WorkflowStepDefinition step) => step.Settings.TryGetValue("agent", out var agent) && agent is not null ? agent : Development;

    private async Task<IReadOnlyDictionary<string, object?>> DevelopAsync(WorkflowStepDefinition step, WorkflowActionContext context, string worktree, CancellationToken cancellationToken)
    {
        var maxTurns = (int)Math.Min(context.GetNumber("max_turns", WorkflowInputType.PositiveNumber) ?? agentOptions.Value.AgentMaxTurns, int.MaxValue);
        var result = await developer.RunAsync(Request(step, context, worktree, step.Name) with
        {
            Instructions = Instructions(step, context),
            MaxTurns = maxTurns,
        }, cancellationToken);
        if (!result.Finished)
        {
            throw new WorkflowActionException($"the development agent did not finish: {result.StopReason}")
            {
                Outputs = Outputs(result),
            };
        }

        return Outputs(result);
    }

    /// <summary>The step's <c>prompt_template:</c> rendered, then its <c>instructions</c> input, a blank line between them.</summary>
    private string? Instructions(WorkflowStepDefinition step, WorkflowActionContext context)
    {
        var parts = new List<string>();
        if (step.Settings.TryGetValue("prompt_template", out var template) && template is { Length: > 0 })
        {
            parts.Add(prompts.Render(template, PromptCatalog.InstructionsModel(context.Task, context.Project, context.StepName)));
        }

        if (context.GetString("instructions") is { Length: > 0 } instructions)
        {
            parts.Add(instructions);
        }

        return parts.Count == 0 ? null : string.Join("\n\n", parts);
    }

    private async Task<IReadOnlyDictionary<string, object?>> VerifyAsync(WorkflowStepDefinition step, WorkflowActionContext context, string worktree, CancellationToken cancellationToken)
    {
        var command = context.GetString("command") is { Length: > 0 } given ? given
            : context.Project?.TestCommand is { Length: > 0 } configured ? configured
            : TestCommands.Detect(worktree);
        var attempts = (int)Math.Min(context.GetNumber("attempts", WorkflowInputType.WholeNumber) ?? agentOptions.Value.AgentVerifyAttempts, int.MaxValue);
        var conversation = context.GetString("conversation") is { Length: > 0 } c ? c : DefaultConversation;
        if (command is null)
        {
            context.Progress?.Report("no test command: the project has none set and none was found in the repository; verification skipped");
            var skipped = new Dictionary<string, object?> { ["passed"] = null, ["skipped"] = true, ["command"] = null, ["attempts"] = 0L };
            await ScanForSecretsAsync(step, context, worktree, conversation, attempts, skipped, cancellationToken);
            return skipped;
        }

        var (passed, report, fixes, offline) = await TestAndFixAsync(step, context, worktree, command, attempts, conversation, "verify", cancellationToken);
        var outputs = new Dictionary<string, object?> { ["passed"] = passed, ["skipped"] = false, ["command"] = command, ["fix_attempts"] = (long)fixes, ["output"] = ToolOutput.HeadAndTail(report, 4000) };
        if (offline)
        {
            outputs["network_needed"] = true;
            throw new WorkflowActionException($"'{command}' failed: {NetworkFailure.Hint}") { Outputs = outputs };
        }

        if (!passed)
        {
            throw new WorkflowActionException($"'{command}' still fails after {fixes} fix attempt(s) by the development agent") { Outputs = outputs };
        }

        if (await ScanForSecretsAsync(step, context, worktree, conversation, attempts, outputs, cancellationToken) > 0)
        {
            // The agent changed code to remove what the scan found: the tests run again on what will be committed.
            (passed, report, var moreFixes, offline) = await TestAndFixAsync(step, context, worktree, command, attempts, conversation, "verify-after-scan", cancellationToken);
            outputs["passed"] = passed;
            outputs["fix_attempts"] = (long)(fixes + moreFixes);
            outputs["output"] = ToolOutput.HeadAndTail(report, 4000);
            if (!passed)
            {
                throw new WorkflowActionException($"'{command}' fails after the development agent's secret-scan fixes") { Outputs = outputs };
            }
        }

        return outputs;
    }

    private const int MaxFindingsToAgent = 20;

    /// <summary>
    /// After the tests, the secret scan over the change (SECRET_SCAN_ENABLED): while it finds something and attempts
    /// remain, the findings (path:line rule, never the value) go back to the development conversation, as failed tests
    /// do. What is left is the commit step's to block.
    /// </summary>
    /// <returns>How many times the findings went back to the agent (its code changed when more than 0).</returns>
    private async Task<int> ScanForSecretsAsync(WorkflowStepDefinition step, WorkflowActionContext context, string worktree, string conversation, int attempts, Dictionary<string, object?> outputs, CancellationToken cancellationToken)
    {
        if (secretScanner is not { Enabled: true })
        {
            return 0;
        }

        var fixes = 0;
        while (true)
        {
            var scan = await secretScanner.ScanWorktreeAsync(worktree, SecretScanner.BaseRef(context), cancellationToken);
            outputs["secret_findings_count"] = (long)scan.Findings.Count;
            outputs["secret_fix_attempts"] = (long)fixes;
            if (scan.Findings.Count == 0 || fixes >= attempts)
            {
                return fixes;
            }

            fixes++;
            context.Progress?.Report($"secret scan: {scan.Findings.Count} possible secret(s) in the change, sent back to the development agent");
            // As many as the step's error names (a vendored tree could hold thousands): the rest follow once these are gone.
            var locations = scan.Findings.Take(MaxFindingsToAgent).Select(f => f.Location).ToList();
            if (scan.Findings.Count > MaxFindingsToAgent)
            {
                locations.Add($"… and {scan.Findings.Count - MaxFindingsToAgent} more");
            }

            var text = prompts.Render(PromptCatalog.DevelopmentSecretScan, PromptCatalog.DevelopmentSecretScanModel(locations));
            var fixedUp = await developer.RunAsync(Request(step, context, worktree, conversation) with { FollowUp = ($"secret-scan-{fixes}", text), MaxTurns = agentOptions.Value.AgentMaxTurns }, cancellationToken);
            if (!fixedUp.Finished)
            {
                outputs["secret_fix_attempts"] = (long)fixes;
                return fixes;
            }
        }
    }

    /// <summary>
    /// Runs the tests (offline, with the project's package caches); while they fail and attempts remain, gives the output
    /// to the development conversation — unless they failed for lack of network, which no change of code fixes.
    /// </summary>
    private async Task<(bool Passed, string Report, int Fixes, bool NetworkNeeded)> TestAndFixAsync(
        WorkflowStepDefinition step, WorkflowActionContext context, string worktree, string command, int attempts, string conversation, string idPrefix, CancellationToken cancellationToken)
    {
        var fixes = 0;
        while (true)
        {
            context.Progress?.Report($"running {command}");
            var sandboxed = new SandboxCommand(command, worktree, worktree, TimeSpan.FromSeconds(sandboxOptions.Value.SandboxTimeoutSeconds))
            {
                Network = context.Project?.SandboxNetwork == true,
            };
            var result = await sandbox.RunAsync(context.Project is { } project ? PackageCaches.For(workspaceOptions.Value, project.Id).Apply(sandboxed) : sandboxed, cancellationToken);
            var report = $"$ {command}\nexit code {result.ExitCode}{(result.TimedOut ? " (timed out)" : string.Empty)}\n{result.Stdout}\n{result.Stderr}";
            var passed = result.ExitCode == 0 && !result.TimedOut;
            context.Progress?.Report(passed ? $"{command}: passed" : $"{command}: failed (exit {result.ExitCode})");
            if (!passed && NetworkFailure.Seen(result))
            {
                context.Progress?.Report($"{command}: {NetworkFailure.Hint}");
                return (false, report, fixes, true);
            }

            if (passed || fixes >= attempts)
            {
                return (passed, report, fixes, false);
            }

            fixes++;
            var text = prompts.Render(PromptCatalog.DevelopmentTestFailure, PromptCatalog.DevelopmentTestFailureModel(command, ToolOutput.HeadAndTail(report, agentOptions.Value.AgentToolOutputChars)));
            var fixedUp = await developer.RunAsync(Request(step, context, worktree, conversation) with { FollowUp = ($"{idPrefix}-{fixes}", text), MaxTurns = agentOptions.Value.AgentMaxTurns }, cancellationToken);
            if (!fixedUp.Finished)
            {
                return (false, report + $"\n(the development agent stopped: {fixedUp.StopReason})", fixes, false);
            }
        }
    }

    private async Task<IReadOnlyDictionary<string, object?>> ReviewAsync(WorkflowStepDefinition step, WorkflowActionContext context, string worktree, CancellationToken cancellationToken)
    {
        var conversation = context.GetString("conversation") is { Length: > 0 } c ? c : DefaultConversation;
        var command = context.GetString("test_command") is { Length: > 0 } given ? given
            : context.Project?.TestCommand is { Length: > 0 } configured ? configured
            : TestCommands.Detect(worktree);

        var first = await ReviewOnceAsync(context, worktree, conversation, 1, cancellationToken);
        var outputs = new Dictionary<string, object?>
        {
            ["verdict"] = first.Verdict,
            ["reasons"] = first.Reasons.ToList<object?>(),
            ["summary"] = first.Summary,
            ["sent_back"] = false,
        };
        if (first.Approved)
        {
            return outputs;
        }

        // Changes requested: back to the development agent once, verify again, review again.
        context.Progress?.Report($"review requested changes: {string.Join("; ", first.Reasons)}");
        var feedback = prompts.Render(PromptCatalog.DevelopmentReviewFeedback, PromptCatalog.DevelopmentReviewFeedbackModel(first.Reasons, first.Summary));
        var rework = await developer.RunAsync(Request(step, context, worktree, conversation) with { FollowUp = ("review-1", feedback), MaxTurns = agentOptions.Value.AgentMaxTurns }, cancellationToken);
        outputs["sent_back"] = true;
        outputs["first_verdict"] = first.Verdict;
        outputs["first_reasons"] = first.Reasons.ToList<object?>();
        if (command is not null)
        {
            var (passed, _, _, _) = await TestAndFixAsync(step, context, worktree, command, agentOptions.Value.AgentVerifyAttempts, conversation, "review-verify", cancellationToken);
            outputs["tests_passed"] = passed;
        }

        var second = await ReviewOnceAsync(context, worktree, conversation, 2, cancellationToken);
        outputs["verdict"] = second.Verdict;
        outputs["reasons"] = second.Reasons.ToList<object?>();
        outputs["summary"] = second.Summary;
        outputs["rework_finished"] = rework.Finished;
        return outputs;
    }

    /// <summary>One review, remembered in a checkpoint so a resumed run does not ask (and pay) again.</summary>
    private async Task<ReviewVerdict> ReviewOnceAsync(WorkflowActionContext context, string worktree, string conversation, int round, CancellationToken cancellationToken)
    {
        var key = $"{context.StepName}#review-{round}";
        if (await checkpoints.LoadAsync(context.WorkflowExecutionId, key, cancellationToken) is { State.Finished: true, State.Summary: { } stored })
        {
            return System.Text.Json.JsonSerializer.Deserialize<ReviewVerdict>(stored, JsonDefaults.Options)!;
        }

        var baseCommit = (await checkpoints.LoadAsync(context.WorkflowExecutionId, conversation, cancellationToken))?.BaseCommit ?? "HEAD";
        var diff = await checkpoints.DiffAsync(worktree, baseCommit, cancellationToken);
        context.Progress?.Report($"reviewing the diff ({diff.Length:N0} characters)");
        var verdict = await reviewer.ReviewAsync(Scope(context, AgentRoles.Review), TaskText(context), context.Task.Source, diff, null, cancellationToken);
        var state = new AgentLoopState { Finished = true, Summary = System.Text.Json.JsonSerializer.Serialize(verdict, JsonDefaults.Options), StopReason = verdict.Verdict };
        await checkpoints.SaveAsync(context.Task.Id, context.WorkflowExecutionId, key, 1, [], state, baseCommit, null, cancellationToken);
        context.Progress?.Report($"review verdict: {verdict.Verdict}");
        return verdict;
    }

    private DevelopmentRequest Request(WorkflowStepDefinition step, WorkflowActionContext context, string worktree, string conversation) => new()
    {
        Scope = Scope(context, AgentRoles.Development),
        WorkflowExecutionId = context.WorkflowExecutionId,
        Conversation = conversation,
        Worktree = worktree,
        Task = TaskText(context),
        TaskSource = context.Task.Source,
        Tools = step.AgentTools,
        Network = context.Project?.SandboxNetwork == true,
        MaxTurns = agentOptions.Value.AgentMaxTurns,
        Progress = context.Progress,
    };

    private static ModelCallScope Scope(WorkflowActionContext context, string role) =>
        new(context.Task.Id, context.Project?.Id, context.Task.CreatedByUserId, context.AgentExecutionId, role);

    private static string TaskText(WorkflowActionContext context) =>
        context.Task.Title + (string.IsNullOrWhiteSpace(context.Task.Description) ? string.Empty : "\n\n" + context.Task.Description);

    private static Dictionary<string, object?> Outputs(DevelopmentResult result) => new()
    {
        ["finished"] = result.Finished,
        ["summary"] = result.Summary,
        ["stop_reason"] = result.StopReason,
        ["turns"] = (long)result.Turns,
        ["model_calls"] = (long)result.State.ModelCalls,
        ["input_tokens"] = result.State.InputTokens,
        ["output_tokens"] = result.State.OutputTokens,
        ["cache_write_tokens"] = result.State.CacheWriteTokens,
        ["cache_read_tokens"] = result.State.CacheReadTokens,
        ["cost_usd"] = result.State.CostUsd,
    };

    /// <summary>
    /// Commits (and pushes, when the project has a remote) what the agent did before the budget stopped it; returns the
    /// push's outputs (null when nothing was pushed).
    /// </summary>
    private async Task<IReadOnlyDictionary<string, object?>?> KeepPartialWorkAsync(WorkflowActionContext context, BudgetExceededException reason, CancellationToken cancellationToken)
    {
        try
        {
            var commitContext = With(context, new Dictionary<string, object?> { ["message"] = $"DevOrchestrator (partial: budget exceeded): {context.Task.Title}\n\n{reason.Message}" });
            var committed = await workspace.InvokeAsync("commit", commitContext, cancellationToken);
            var any = committed.TryGetValue("committed", out var c) && c is true;
            context.Progress?.Report(any
                ? $"budget exceeded: partial work committed as {committed.GetValueOrDefault("commit_sha")}"
                : "budget exceeded: there was no partial work to commit");
            return any ? await workspace.InvokeAsync("push", With(context, new Dictionary<string, object?>()), cancellationToken) : null;
        }
        catch (Exception ex) when (ex is WorkflowActionException or IOException)
        {
            LogPartialWorkNotKept(logger, ex, context.Task.Id);
            context.Progress?.Report("budget exceeded; the partial work could not be committed or pushed: " + ex.Message);
            return null;
        }
    }

    private static WorkflowActionContext With(WorkflowActionContext context, Dictionary<string, object?> inputs) => new()
    {
        Task = context.Task,
        Project = context.Project,
        WorkflowExecutionId = context.WorkflowExecutionId,
        AgentExecutionId = context.AgentExecutionId,
        StepName = context.StepName,
        Inputs = inputs,
        StepOutputs = context.StepOutputs,
        Progress = context.Progress,
    };

    public void Dispose() => _slots.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId}: the partial work could not be kept after the budget was exceeded")]
    private static partial void LogPartialWorkNotKept(ILogger logger, Exception exception, long taskId);
}
