using System.Globalization;
using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Effects;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Plugins;

/// <summary>
/// One chat thread per task in its project's channel: the root message when the task starts (kept up to date with its
/// status), the workflow's <c>communication.post_message</c> milestones as replies, and a last reply when it ends —
/// with the pull request and the cost, or the reason it failed. A task that came from a Slack slash command is also
/// answered through the command's <c>response_url</c>. Every message is an <see cref="ExternalEffects"/> record, so a
/// resumed task never posts one twice. Chat failures are logged, never fail the task.
/// </summary>
public sealed partial class TaskChatThread(
    PluginRegistry registry, ExternalEffects effects, IDbContextFactory<AppDbContext> dbContexts, ConfigEncryption encryption, ILogger<TaskChatThread> logger)
{
    /// <summary>The task's thread root in <paramref name="channel"/>, posted once.</summary>
    public async Task<ChatMessage> EnsureAsync(ICommunicationPlugin chat, long taskId, string title, string channel, CancellationToken cancellationToken)
    {
        var key = ExternalEffects.Key(taskId, "chat_thread", channel);
        var root = await effects.OnceAsync(key, taskId, chat.Name, "chat_thread",
            ct => chat.FindMessageAsync(channel, null, key, ct),
            ct => chat.PostMessageAsync(new ChatMessageDraft(channel, RootText(taskId, Plain(chat, title), "started")), key, ct), cancellationToken);
        return root.Value;
    }

    /// <summary>Starts the thread when the task starts (once, however often the task is resumed).</summary>
    public async Task StartedAsync(long taskId, CancellationToken cancellationToken)
    {
        try
        {
            if (await TargetAsync(taskId, cancellationToken) is not { } target)
            {
                return;
            }

            await EnsureAsync(target.Chat, taskId, target.Title, target.Channel, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The task was cancelled while its thread was being started: the run that follows notices and ends it.
        }
        catch (Exception ex)
        {
            LogChatFailed(logger, taskId, "start", ex.Message);
        }
    }

    /// <summary>Replies with the outcome, updates the root, and answers a slash command's response_url.</summary>
    public async Task FinishedAsync(long taskId, long agentExecutionId, CancellationToken cancellationToken)
    {
        if (registry.Configured<ICommunicationPlugin>() is null)
        {
            return; // no chat to tell: nothing to read
        }

        try
        {
            await using var db = dbContexts.CreateDbContext();
            var task = await db.Tasks.AsNoTracking().SingleAsync(t => t.Id == taskId, cancellationToken);
            var pullRequest = await db.ExternalEffects.AsNoTracking()
                .Where(e => e.TaskId == taskId && e.Operation == "pull_request" && e.Status == ExternalEffectStatuses.Completed)
                .OrderByDescending(e => e.Id).Select(e => e.Result).FirstOrDefaultAsync(cancellationToken);
            var prUrl = pullRequest is null ? null : System.Text.Json.JsonSerializer.Deserialize<PullRequestInfo>(pullRequest, Hosting.JsonDefaults.Options)?.Url;
            var target = await TargetAsync(taskId, cancellationToken);
            var text = OutcomeText(task, prUrl, error => target is { } t ? Plain(t.Chat, error) : error);
            if (target is not null)
            {
                var (chat, channel, title) = target.Value;
                var root = await EnsureAsync(chat, taskId, title, channel, cancellationToken);
                var key = ExternalEffects.Key(taskId, "chat_finished", agentExecutionId.ToString(CultureInfo.InvariantCulture));
                await effects.OnceAsync(key, taskId, chat.Name, "chat_message",
                    ct => chat.FindMessageAsync(channel, root.ThreadId, key, ct),
                    ct => chat.PostMessageAsync(new ChatMessageDraft(channel, text, root.ThreadId), key, ct), cancellationToken);
                await chat.UpdateMessageAsync(root, RootText(taskId, Plain(chat, task.Title), task.Status.Replace('_', ' ')), cancellationToken);
            }

            if (task.ReplyTo is { } replyTo && registry.Configured<ICommunicationPlugin>() is { } commands)
            {
                var key = ExternalEffects.Key(taskId, "slash_reply", agentExecutionId.ToString(CultureInfo.InvariantCulture));
                await effects.OnceAsync(key, taskId, commands.Name, "slash_reply",
                    _ => Task.FromResult<ExternalObject?>(null),
                    async ct =>
                    {
                        await commands.RespondAsync(encryption.Decrypt(replyTo), OutcomeText(task, prUrl, commands.Inert), inChannel: true, ct);
                        return new ExternalObject("response_url", null);
                    }, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogChatFailed(logger, taskId, "finish", ex.Message);
        }
    }

    internal static string RootText(long taskId, string title, string status) => $"DevOrchestrator task #{taskId}: {title} — {status}";

    /// <summary>Untrusted text (titles, errors) made inert for the chat's markup (Slack: no <c>&lt;!channel&gt;</c> pings, no fake links).</summary>
    private static string Plain(ICommunicationPlugin chat, string text) => chat.Inert(text);

    internal static string OutcomeText(DevTask task, string? pullRequestUrl, Func<string, string> plain)
    {
        var cost = Costs.Money.ToUsd(task.CostMicros).ToString("0.00##", CultureInfo.InvariantCulture);
        return task.Status switch
        {
            TaskStatuses.Completed => $"Task #{task.Id} finished.{(pullRequestUrl is null ? "" : $" Pull request: {pullRequestUrl}")} Cost: ${cost}.",
            TaskStatuses.BudgetExceeded => $"Task #{task.Id} stopped: budget exceeded ({plain(task.Error ?? "")}). Partial work is on branch {task.Branch}. Cost: ${cost}.",
            TaskStatuses.Cancelled => $"Task #{task.Id} was cancelled. Cost: ${cost}.",
            _ => $"Task #{task.Id} failed: {plain(task.Error ?? "unknown error")}. Cost: ${cost}.",
        };
    }

    private async Task<(ICommunicationPlugin Chat, string Channel, string Title)?> TargetAsync(long taskId, CancellationToken cancellationToken)
    {
        if (registry.Configured<ICommunicationPlugin>() is not { } chat)
        {
            return null;
        }

        await using var db = dbContexts.CreateDbContext();
        var row = await (from t in db.Tasks.AsNoTracking()
                         join p in db.Projects.AsNoTracking() on t.ProjectId equals p.Id
                         where t.Id == taskId
                         select new { t.Title, p.SlackChannel }).FirstOrDefaultAsync(cancellationToken);
        return row?.SlackChannel is { Length: > 0 } channel ? (chat, channel, row.Title) : null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId}: the chat {Moment} message could not be posted: {Error}")]
    private static partial void LogChatFailed(ILogger logger, long taskId, string moment, string error);
}
