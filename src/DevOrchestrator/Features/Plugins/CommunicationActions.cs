using DevOrchestrator.Abstractions;
using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Features.Effects;

namespace DevOrchestrator.Features.Plugins;

/// <summary>
/// <c>communication.post_message</c>: a message in the task's chat thread (started by <see cref="TaskChatThread"/>)
/// in the project's channel.
/// </summary>
public sealed class CommunicationActions(PluginRegistry registry, TaskChatThread threads, ExternalEffects effects) : IWorkflowActions
{
    private static readonly Dictionary<string, WorkflowActionDescriptor> s_actions = new(StringComparer.Ordinal)
    {
        ["post_message"] = new("Post to the task's thread in the project's channel (thread: false posts at the top of the channel).", ["text"], ["channel", "thread"])
        {
            InputTypes = new Dictionary<string, WorkflowInputType> { ["thread"] = WorkflowInputType.Boolean },
        },
    };

    public string Plugin => PluginTypes.Communication;

    public IReadOnlyDictionary<string, WorkflowActionDescriptor> Actions => s_actions;

    public async Task<IReadOnlyDictionary<string, object?>> InvokeAsync(string action, WorkflowActionContext context, CancellationToken cancellationToken)
    {
        if (action != "post_message")
        {
            throw new WorkflowActionException($"communication has no action '{action}'");
        }

        var chat = registry.Configured<ICommunicationPlugin>()
            ?? throw new WorkflowStepSkippedException("no chat plugin is configured (Slack: set SLACK_BOT_TOKEN)");
        var channel = context.GetString("channel") is { Length: > 0 } c ? c
            : context.Project?.SlackChannel ?? throw new WorkflowStepSkippedException("the project has no slack_channel");
        var text = context.RequireString("text");
        string? threadId = null;
        if (context.GetBoolean("thread", absent: true))
        {
            threadId = (await threads.EnsureAsync(chat, context.Task.Id, context.Task.Title, channel, cancellationToken)).ThreadId;
        }

        var key = ExternalEffects.Key(context.Task.Id, "chat_message", $"{channel}:{context.StepName}:{context.WorkflowExecutionId}");
        var message = await effects.OnceAsync(key, context.Task.Id, chat.Name, "chat_message",
            ct => chat.FindMessageAsync(channel, threadId, key, ct), ct => chat.PostMessageAsync(new ChatMessageDraft(channel, text, threadId), key, ct), cancellationToken);
        context.Progress?.Report($"posted to {channel}");
        return new Dictionary<string, object?> { ["channel"] = message.Value.Channel, ["message_id"] = message.Value.MessageId, ["thread_id"] = message.Value.ThreadId, ["url"] = message.Value.Url, ["reused"] = message.Reused };
    }
}
