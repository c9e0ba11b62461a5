namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>A chat service (Slack, Discord, Teams…): messages in a channel, threaded.</summary>
public interface ICommunicationPlugin : IPlugin
{
    /// <summary>
    /// Posts a message, as a reply when <see cref="ChatMessageDraft.ThreadId"/> is set. <paramref name="idempotencyKey"/>
    /// travels with the message (as metadata) so that a retry after an unknown outcome can find it.
    /// </summary>
    Task<ChatMessage> PostMessageAsync(ChatMessageDraft message, string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>Replaces the text of a message posted earlier.</summary>
    Task<ChatMessage> UpdateMessageAsync(ChatMessage message, string text, CancellationToken cancellationToken);

    /// <summary>
    /// The message posted earlier with <paramref name="idempotencyKey"/> in the channel (in the thread, when
    /// <paramref name="threadId"/> is set), or null. Looks back over recent messages only.
    /// </summary>
    Task<ChatMessage?> FindMessageAsync(string channel, string? threadId, string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>
    /// Untrusted text (a task's title, an error) made inert for the chat's markup: it cannot ping a channel, forge a
    /// link or change the formatting of the message it is put in.
    /// </summary>
    string Inert(string text);

    /// <summary>
    /// Answers a chat command (a Slack slash command) at the reply address it came with; the address is a secret, never
    /// logged. <paramref name="inChannel"/>: visible to the channel rather than only to who typed the command.
    /// </summary>
    Task RespondAsync(string replyAddress, string text, bool inChannel, CancellationToken cancellationToken);
}
