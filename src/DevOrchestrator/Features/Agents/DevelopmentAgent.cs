using System.Globalization;
using System.Text;
using System.Text.Json;
using DevOrchestrator.Abstractions;
using DevOrchestrator.Features.Agents.Prompts;
using DevOrchestrator.Features.Costs;
using DevOrchestrator.Features.Workflows;
using DevOrchestrator.Features.Workspaces;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Agents;

/// <summary>
/// The development agent: a tool-use loop over an <see cref="IChatClient"/> and <see cref="WorkspaceTools"/>. Each turn
/// is one model call and the tools it asked for; after the call and again after the tools the conversation and the
/// worktree diff are checkpointed, so a resumed run neither repeats nor re-pays a finished call. It stops when the model
/// calls <c>finish</c> (or answers without a tool call), after <see cref="DevelopmentRequest.MaxTurns"/> turns, or when
/// it repeats the same action three times without changing anything. Its system prompt and first message are the
/// <c>development_system</c> and <c>development_task</c> templates (<see cref="PromptTemplates"/>). Tool outputs are cut to head and tail; when the
/// conversation nears the model's context window, old tool outputs are condensed; with Anthropic, the system prompt
/// (and with it the tools) and the moving end of the conversation carry cache breakpoints.
/// </summary>
public sealed partial class DevelopmentAgent(
    ModelClients models,
    PromptTemplates prompts,
    AgentCheckpoints checkpoints,
    Sandbox sandbox,
    GitCli git,
    IOptions<AgentOptions> agentOptions,
    IOptions<SandboxOptions> sandboxOptions,
    IOptions<WorkspaceOptions> workspaceOptions,
    ILogger<DevelopmentAgent> logger)
{
    private const int RepeatLimit = 3;

    private static readonly HashSet<string> s_readOnlyTools = new(StringComparer.Ordinal) { "list_files", "read_file", "search", "show_diff", "finish" };

    /// <summary>Condense when the conversation is estimated above this share of the context window.</summary>
    private const double CondenseAt = 0.6;

    /// <summary>Tool results older than this many messages from the end may be condensed.</summary>
    private const int KeepRecentMessages = 8;

    public async Task<DevelopmentResult> RunAsync(DevelopmentRequest request, CancellationToken cancellationToken)
    {
        var session = await OpenAsync(request, cancellationToken);
        if (!AddFollowUp(request, session) && session.State.Finished)
        {
            // A conversation stored as ended ends the same way again: one that stopped for no progress is not finished.
            var reason = session.State.StopReason ?? "finished";
            var stopped = reason.StartsWith("no_progress", StringComparison.Ordinal) ? DevelopmentStop.NoProgress : DevelopmentStop.Finished;
            return new DevelopmentResult(stopped, session.State.Summary, reason, session.Turn, session.State);
        }

        session.LastDiff = await checkpoints.DiffAsync(request.Worktree, session.BaseCommit, cancellationToken);
        while (true)
        {
            var pending = PendingCalls(session.Messages);
            if (pending.Count == 0)
            {
                if (session.TurnsThisRun >= request.MaxTurns)
                {
                    return Stop(session, DevelopmentStop.MaxTurns, $"max_turns: stopped after {request.MaxTurns} turns without finishing (AGENT_MAX_TURNS)");
                }

                pending = await CallModelAsync(session, cancellationToken);
                if (session.State.Finished)
                {
                    return Stop(session, DevelopmentStop.Finished, "finished");
                }
            }

            if (await RunToolsAsync(session, pending, cancellationToken) is { } stop)
            {
                return Stop(session, stop, session.State.StopReason!);
            }
        }
    }

    /// <summary>The conversation: a new one on the worktree's HEAD, or the checkpointed one with the files it saw.</summary>
    private async Task<Session> OpenAsync(DevelopmentRequest request, CancellationToken cancellationToken)
    {
        var client = models.Create(AgentRoles.Development, request.Scope);
        var target = models.Resolve(AgentRoles.Development);
        var tools = new WorkspaceTools(request.Worktree, sandbox, new WorkspaceToolOptions(
            TimeSpan.FromSeconds(sandboxOptions.Value.SandboxTimeoutSeconds), agentOptions.Value.AgentToolOutputChars, Caches: PackageCaches.For(workspaceOptions.Value, request.Scope.ProjectId),
            Tools: request.Tools, Network: request.Network));
        var session = new Session(request, client, tools, Options(tools, target), target.Provider == ModelClients.Anthropic, models.ContextWindow(target.Model));
        var snapshot = await checkpoints.LoadAsync(request.WorkflowExecutionId, request.Conversation, cancellationToken);
        if (snapshot is null)
        {
            session.BaseCommit = await HeadCommitAsync(request.Worktree, cancellationToken);
            session.Messages =
            [
                new ChatMessage(ChatRole.System, prompts.Render(PromptCatalog.DevelopmentSystem, PromptCatalog.DevelopmentSystemModel(request.Instructions))),
                new ChatMessage(ChatRole.User, prompts.Render(PromptCatalog.DevelopmentTask, PromptCatalog.DevelopmentTaskModel(request.Task, request.TaskSource))),
            ];
            session.State = new AgentLoopState();
            return session;
        }

        session.Messages = snapshot.Messages;
        session.State = snapshot.State;
        session.Turn = snapshot.Turn;
        session.BaseCommit = snapshot.BaseCommit ?? (await git.RunAsync(request.Worktree, ["rev-parse", "HEAD"], cancellationToken)).Output;

        // The files must be what the conversation saw: the worker that died may have left more (or fewer) changes.
        var stored = await checkpoints.LoadDiffAsync(request.WorkflowExecutionId, request.Conversation, cancellationToken);
        if (await checkpoints.DiffAsync(request.Worktree, session.BaseCommit, cancellationToken) != (stored ?? string.Empty))
        {
            await checkpoints.RestoreAsync(request.Worktree, session.BaseCommit, stored, cancellationToken);
        }

        request.Progress?.Report($"resuming the conversation after turn {session.Turn} ({session.State.ModelCalls} model call(s), ${session.State.CostUsd:0.####} so far)");
        return session;
    }

    private async Task<string> HeadCommitAsync(string worktree, CancellationToken cancellationToken)
    {
        var head = (await git.RunAsync(worktree, ["rev-parse", "--verify", "HEAD^{commit}"], cancellationToken)).Output;
        if (head.Length < 40 || !head.All(char.IsAsciiHexDigitLower))
        {
            throw new WorkflowActionException($"could not read the worktree's HEAD commit (git printed '{head}')");
        }

        return head;
    }

    /// <summary>Adds the request's follow-up message unless the conversation has it already; true when added (the conversation goes on).</summary>
    private static bool AddFollowUp(DevelopmentRequest request, Session session)
    {
        if (request.FollowUp is not { } followUp || session.State.FollowUps.Contains(followUp.Id))
        {
            return false;
        }

        session.Messages.Add(new ChatMessage(ChatRole.User, followUp.Text));
        session.State.FollowUps.Add(followUp.Id);
        session.State.Finished = false;
        session.State.StopReason = null;
        return true;
    }

    private ChatOptions Options(WorkspaceTools tools, ModelTarget target)
    {
        var functions = tools.Functions.ToList<AITool>();
        if (target.Provider == ModelClients.Anthropic && functions.Count > 0)
        {
            // A cache breakpoint at the end of the tool definitions (they come first in Anthropic's prompt order).
            functions[^1] = new CachedTool((AIFunction)functions[^1]);
        }

        return new ChatOptions { Tools = functions, MaxOutputTokens = agentOptions.Value.AgentMaxOutputTokens, ToolMode = ChatToolMode.Auto };
    }

    /// <summary>
    /// One turn's model call. Its answer is checkpointed before any tool runs, so a crash never pays for it again; an
    /// answer without a tool call finishes the conversation (its text is the summary). Returns the tool calls asked for.
    /// </summary>
    private async Task<List<FunctionCallContent>> CallModelAsync(Session session, CancellationToken cancellationToken)
    {
        var (request, messages, state) = (session.Request, session.Messages, session.State);
        Condense(messages, session.ContextWindow, agentOptions.Value.AgentMaxOutputTokens);
        var marked = session.CacheBreakpoints ? MarkCacheBreakpoints(messages) : [];
        ChatResponse response;
        try
        {
            response = await session.Client.GetResponseAsync(messages, session.Options, cancellationToken);
        }
        finally
        {
            foreach (var content in marked)
            {
                content.WithCacheControl((Anthropic.Models.Messages.CacheControlEphemeral?)null);
            }
        }

        session.Turn++;
        session.TurnsThisRun++;
        Account(state, response);
        messages.AddRange(response.Messages.Count > 0 ? response.Messages : [new ChatMessage(ChatRole.Assistant, response.Text)]);
        var pending = PendingCalls(messages);
        if (pending.Count == 0)
        {
            state.Finished = true;
            state.Summary ??= response.Text;
            state.StopReason = "finished";
        }

        await checkpoints.SaveAsync(request.Scope.TaskId ?? 0, request.WorkflowExecutionId, request.Conversation, session.Turn, messages, state, session.BaseCommit, session.LastDiff, cancellationToken);
        request.Progress?.Report($"turn {session.Turn}: {Describe(pending, response.Text)} | {state.InputTokens + state.CacheReadTokens + state.CacheWriteTokens + state.OutputTokens:N0} tokens, ${state.CostUsd:0.####}");
        return pending;
    }

    /// <summary>
    /// Runs the tool calls, then checkpoints the conversation with the worktree's diff. Returns how the conversation
    /// stopped: the model called <c>finish</c>, or repeated the same calls <see cref="RepeatLimit"/> times without changing anything.
    /// </summary>
    private async Task<DevelopmentStop?> RunToolsAsync(Session session, List<FunctionCallContent> pending, CancellationToken cancellationToken)
    {
        var (request, state) = (session.Request, session.State);
        var results = new List<AIContent>();
        foreach (var call in pending)
        {
            results.Add(new FunctionResultContent(call.CallId, await InvokeAsync(session.Tools, call, cancellationToken)));
        }

        session.Messages.Add(new ChatMessage(ChatRole.Tool, results));
        // Only tools that can change files need a fresh diff (three git processes): reading turns keep the last one.
        var diff = pending.Any(c => !s_readOnlyTools.Contains(c.Name))
            ? await checkpoints.DiffAsync(request.Worktree, session.BaseCommit, cancellationToken)
            : session.LastDiff;
        DevelopmentStop? stop = null;
        if (session.Tools.Finished)
        {
            state.Finished = true;
            state.Summary = session.Tools.FinishSummary;
            state.StopReason = "finished";
            stop = DevelopmentStop.Finished;
        }

        var signature = string.Join("\n", pending.Select(c => c.Name + JsonSerializer.Serialize(c.Arguments, AIJsonUtilities.DefaultOptions)));
        session.Repeats = signature == session.LastSignature && diff == session.LastDiff ? session.Repeats + 1 : 1;
        session.LastSignature = signature;
        session.LastDiff = diff;
        if (session.Repeats >= RepeatLimit && !state.Finished)
        {
            state.Finished = true;
            state.StopReason = $"no_progress: the same action was repeated {RepeatLimit} times without changing anything";
            stop = DevelopmentStop.NoProgress;
        }

        await checkpoints.SaveAsync(request.Scope.TaskId ?? 0, request.WorkflowExecutionId, request.Conversation, session.Turn, session.Messages, state, session.BaseCommit, diff, cancellationToken);
        return stop;
    }

    private DevelopmentResult Stop(Session session, DevelopmentStop stop, string reason)
    {
        session.State.StopReason = reason;
        LogStopped(logger, session.Turn, reason, session.State.CostUsd);
        return new DevelopmentResult(stop, session.State.Summary, reason, session.Turn, session.State);
    }

    /// <summary>One run of the loop over a conversation: what it talks with, and where it is.</summary>
    private sealed class Session(DevelopmentRequest request, IChatClient client, WorkspaceTools tools, ChatOptions options, bool cacheBreakpoints, int contextWindow)
    {
        public DevelopmentRequest Request { get; } = request;
        public IChatClient Client { get; } = client;
        public WorkspaceTools Tools { get; } = tools;
        public ChatOptions Options { get; } = options;

        /// <summary>With Anthropic, the prompt carries cache breakpoints.</summary>
        public bool CacheBreakpoints { get; } = cacheBreakpoints;
        public int ContextWindow { get; } = contextWindow;
        public List<ChatMessage> Messages { get; set; } = [];
        public AgentLoopState State { get; set; } = new();
        public int Turn { get; set; }
        public string BaseCommit { get; set; } = string.Empty;

        /// <summary>The worktree's diff after the last tools (or at the start of this run).</summary>
        public string LastDiff { get; set; } = string.Empty;
        public string LastSignature { get; set; } = string.Empty;
        public int Repeats { get; set; }
        public int TurnsThisRun { get; set; }
    }

    /// <summary>The tool calls of the last assistant message that have no result yet.</summary>
    private static List<FunctionCallContent> PendingCalls(List<ChatMessage> messages)
    {
        if (messages.Count == 0 || messages[^1].Role != ChatRole.Assistant)
        {
            return [];
        }

        return [.. messages[^1].Contents.OfType<FunctionCallContent>()];
    }

    private async Task<string> InvokeAsync(WorkspaceTools tools, FunctionCallContent call, CancellationToken cancellationToken)
    {
        var function = tools.Functions.FirstOrDefault(f => f.Name == call.Name);
        if (function is null)
        {
            var offered = string.Join(", ", tools.Functions.Select(f => f.Name));
            return AgentToolNames.All.Contains(call.Name)
                ? $"error: the tool '{call.Name}' is not available in this workflow step (its agent_tools: {offered})"
                : $"error: there is no tool '{call.Name}' (tools: {offered})";
        }

        try
        {
            var result = await function.InvokeAsync(new AIFunctionArguments(call.Arguments), cancellationToken);
            return result switch
            {
                null => "ok",
                string text => text,
                JsonElement { ValueKind: JsonValueKind.String } element => element.GetString() ?? string.Empty,
                _ => JsonSerializer.Serialize(result, AIJsonUtilities.DefaultOptions),
            };
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is ArgumentException or JsonException or InvalidOperationException or FormatException)
        {
            // Bad arguments from the model: tell it, do not fail the task.
            LogToolFailed(logger, ex, call.Name);
            return $"error: {call.Name} could not run with these arguments: {ex.Message}";
        }
    }

    private static void Account(AgentLoopState state, ChatResponse response)
    {
        state.ModelCalls++;
        if (response.AdditionalProperties?.TryGetValue(MeteredChatClient.UsageKey, out var usage) == true && usage is TokenUsage u)
        {
            state.InputTokens += u.Input;
            state.OutputTokens += u.Output;
            state.CacheWriteTokens += u.CacheWrite;
            state.CacheReadTokens += u.CacheRead;
        }

        if (response.AdditionalProperties?.TryGetValue(MeteredChatClient.CostKey, out var cost) == true && cost is decimal usd)
        {
            state.CostUsd += usd;
        }
    }

    /// <summary>
    /// Anthropic prompt caching: a breakpoint at the end of the system prompt (which caches the tools before it too) and
    /// one at the end of the conversation, so the next turn reads everything before its new messages from the cache.
    /// </summary>
    private static List<AIContent> MarkCacheBreakpoints(List<ChatMessage> messages)
    {
        var marked = new List<AIContent>();
        if (messages.FirstOrDefault(m => m.Role == ChatRole.System)?.Contents.LastOrDefault(c => c is TextContent) is { } system)
        {
            marked.Add(system.WithCacheControl(new Anthropic.Models.Messages.CacheControlEphemeral()));
        }

        if (messages[^1].Role != ChatRole.System && messages[^1].Contents.LastOrDefault() is { } last)
        {
            marked.Add(last.WithCacheControl(new Anthropic.Models.Messages.CacheControlEphemeral()));
        }

        return marked;
    }

    /// <summary>
    /// Keeps the conversation within the context window: when it is estimated above <see cref="CondenseAt"/> of the
    /// window (less the output allowance), tool outputs older than the last few messages are replaced, oldest first, by
    /// a short note that the tool can be run again.
    /// </summary>
    internal static int Condense(List<ChatMessage> messages, int contextWindow, int maxOutputTokens)
    {
        var budget = (long)((contextWindow - maxOutputTokens) * CondenseAt);
        if (TokenEstimate.Of(messages, null) <= budget)
        {
            return 0;
        }

        var condensed = 0;
        for (var i = 0; i < messages.Count - KeepRecentMessages; i++)
        {
            var contents = messages[i].Contents;
            for (var j = 0; j < contents.Count; j++)
            {
                if (contents[j] is FunctionResultContent { Result: string text } result && text.Length > 300 && !text.StartsWith("[condensed]", StringComparison.Ordinal))
                {
                    contents[j] = new FunctionResultContent(result.CallId,
                        $"[condensed] this output ({text.Length:N0} characters) was removed to keep the conversation within the context window; run the tool again if you still need it. It began: {text[..200]}");
                    condensed++;
                }
            }

            if (TokenEstimate.Of(messages, null) <= budget)
            {
                break;
            }
        }

        return condensed;
    }

    private static string Describe(List<FunctionCallContent> calls, string text)
    {
        if (calls.Count == 0)
        {
            return "answered: " + Cut(text.ReplaceLineEndings(" "), 120);
        }

        var builder = new StringBuilder();
        foreach (var call in calls)
        {
            if (builder.Length > 0)
            {
                builder.Append(", ");
            }

            builder.Append(call.Name).Append('(');
            var first = call.Arguments?.FirstOrDefault(a => a.Key is "path" or "command" or "pattern" or "summary");
            if (first is { Key: not null } arg)
            {
                builder.Append(arg.Key).Append('=').Append(Cut(Convert.ToString(arg.Value is JsonElement e ? e.ToString() : arg.Value, CultureInfo.InvariantCulture) ?? string.Empty, 60));
            }

            builder.Append(')');
        }

        return builder.ToString();
    }

    /// <summary>A tool whose definition carries Anthropic's <c>cache_control</c> (read by the SDK's chat client).</summary>
    private sealed class CachedTool(AIFunction inner) : DelegatingAIFunction(inner)
    {
        private readonly Dictionary<string, object?> _properties = new(inner.AdditionalProperties)
        {
            [nameof(Anthropic.Models.Messages.Tool.CacheControl)] = new Anthropic.Models.Messages.CacheControlEphemeral(),
        };

        public override IReadOnlyDictionary<string, object?> AdditionalProperties => _properties;
    }

    private static string Cut(string text, int length) => text.Length <= length ? text : text[..length] + "…";

    [LoggerMessage(Level = LogLevel.Information, Message = "Development agent stopped after turn {Turn}: {Reason} (${Cost})")]
    private static partial void LogStopped(ILogger logger, int turn, string reason, decimal cost);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Tool {Tool} refused its arguments")]
    private static partial void LogToolFailed(ILogger logger, Exception exception, string tool);
}
