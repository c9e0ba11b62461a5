namespace DevOrchestrator.Plugins.Slack;

/// <summary>
/// Slack's message text format. A message's text is mrkdwn: <c>&lt;…&gt;</c> makes links and mentions
/// (<c>&lt;!channel&gt;</c> notifies everyone), so untrusted text (task titles, ticket text) must be escaped before it
/// goes into a message.
/// </summary>
public static class SlackMrkdwn
{
    /// <summary>Escapes <c>&amp;</c>, <c>&lt;</c> and <c>&gt;</c> the way Slack requires, so the text shows literally and links or mentions nobody.</summary>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Replace("&", "&amp;", StringComparison.Ordinal)
            .Replace("<", "&lt;", StringComparison.Ordinal)
            .Replace(">", "&gt;", StringComparison.Ordinal);
    }

    /// <summary>A link with a label (<c>&lt;url|label&gt;</c>), the label escaped.</summary>
    public static string Link(Uri url, string label)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(label);
        var escapedUrl = url.AbsoluteUri.Replace("|", "%7C", StringComparison.Ordinal).Replace(">", "%3E", StringComparison.Ordinal).Replace("<", "%3C", StringComparison.Ordinal);
        return $"<{escapedUrl}|{Escape(label).Replace("|", "¦", StringComparison.Ordinal)}>";
    }
}
