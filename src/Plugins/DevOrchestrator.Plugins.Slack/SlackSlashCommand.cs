using DevOrchestrator.Abstractions.Plugins;

namespace DevOrchestrator.Plugins.Slack;

/// <summary>
/// Turns a verified slash command request (its form fields) into an <see cref="IntakeItem"/>: <c>/devorch add a
/// health endpoint</c> in a channel becomes a new task for the project mapped to that channel, once per Slack
/// invocation (<c>team_id:trigger_id</c>).
/// </summary>
public static class SlackSlashCommand
{
    public const string Source = "slack";

    /// <summary>The longest task title taken from the command's first line.</summary>
    public const int MaxTitleLength = 120;

    /// <summary>Parses the form fields of a slash command request for <paramref name="command"/> (e.g. <c>/devorch</c>).</summary>
    /// <exception cref="MalformedPayloadException">A field Slack always sends is missing.</exception>
    public static IntakeItem Parse(IReadOnlyDictionary<string, string> form, string command)
    {
        ArgumentNullException.ThrowIfNull(form);
        ArgumentException.ThrowIfNullOrEmpty(command);
        var received = Field(form, "command") ?? throw new MalformedPayloadException("the slash command payload has no 'command'");
        if (!string.Equals(received, command.Trim(), StringComparison.OrdinalIgnoreCase))
        {
            return IntakeItem.Ignore(Source, $"the command {received} is not {command.Trim()}");
        }

        var channelId = Required(form, "channel_id");
        var userId = Required(form, "user_id");
        var triggerId = Required(form, "trigger_id");
        var text = Field(form, "text") ?? "";
        if (text.Length == 0 || string.Equals(text, "help", StringComparison.OrdinalIgnoreCase))
        {
            return IntakeItem.Ignore(Source, $"usage: {received} <what to do>, e.g. {received} add a /health endpoint to the API");
        }

        return new IntakeItem(IntakeKind.NewTask, Source, (Field(form, "team_id") ?? "") + ":" + triggerId, Title(text), text)
        {
            Channel = channelId,
            ChannelName = Field(form, "channel_name"),
            RequestedBy = Field(form, "user_name") ?? userId,
        };
    }

    /// <summary>The first line of <paramref name="text"/>, at most <see cref="MaxTitleLength"/> characters (never splitting a surrogate pair).</summary>
    internal static string Title(string text)
    {
        var end = text.IndexOfAny(['\r', '\n']);
        var line = (end < 0 ? text : text[..end]).Trim();
        if (line.Length <= MaxTitleLength)
        {
            return line;
        }

        var cut = char.IsHighSurrogate(line[MaxTitleLength - 1]) ? MaxTitleLength - 1 : MaxTitleLength;
        return line[..cut].TrimEnd();
    }

    private static string? Field(IReadOnlyDictionary<string, string> form, string name) =>
        form.TryGetValue(name, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    private static string Required(IReadOnlyDictionary<string, string> form, string name) =>
        Field(form, name) ?? throw new MalformedPayloadException($"the slash command payload has no '{name}'");
}
