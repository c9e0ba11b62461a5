using System.Text.Json;
using System.Text.Json.Nodes;
using DevOrchestrator.Abstractions.Plugins;

namespace DevOrchestrator.Plugins.Jira;

/// <summary>
/// Jira Cloud admin webhooks: signature check and intake parsing (pure code; the host's <c>/webhooks/jira</c>
/// endpoint reads the raw body, verifies it with <c>JIRA_WEBHOOK_SECRET</c>, then parses it).
/// </summary>
public static class JiraWebhooks
{
    /// <summary>The intake source of Jira items.</summary>
    public const string Source = "jira";

    /// <summary>The header an admin webhook with a secret signs its body in (WebSub's <c>method=signature</c>, e.g. <c>sha256=3f0a…</c>).</summary>
    public const string SignatureHeader = "X-Hub-Signature";

    public const string IssueCreated = "jira:issue_created";
    public const string IssueUpdated = "jira:issue_updated";

    /// <summary>
    /// Whether <paramref name="signatureHeader"/> (<c>sha256=&lt;hex HMAC-SHA256 of the raw body keyed with the
    /// secret&gt;</c>) matches <paramref name="body"/>. Compared in constant time; false for a missing or malformed
    /// header, another method, or an empty secret.
    /// </summary>
    public static bool VerifySignature(string secret, ReadOnlySpan<byte> body, string? signatureHeader)
    {
        if (string.IsNullOrEmpty(secret) || string.IsNullOrWhiteSpace(signatureHeader))
        {
            return false;
        }

        var separator = signatureHeader.IndexOf('=', StringComparison.Ordinal);
        if (separator <= 0 || !string.Equals(signatureHeader[..separator].Trim(), "sha256", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return WebhookSignatures.IsHmacSha256(secret, body, signatureHeader.AsSpan(separator + 1).Trim());
    }

    /// <summary>
    /// What a verified webhook asks for: a <see cref="IntakeKind.NewTask"/> for <c>jira:issue_created</c> or
    /// <c>jira:issue_updated</c> of an issue labelled <paramref name="intakeLabel"/>, else <see cref="IntakeKind.Ignored"/>
    /// with the reason. Throws <see cref="MalformedPayloadException"/> naming the missing field.
    /// </summary>
    public static IntakeItem Parse(ReadOnlySpan<byte> body, string jiraUrl, string intakeLabel)
    {
        JsonObject payload;
        try
        {
            payload = JsonNode.Parse(body) as JsonObject ?? throw new MalformedPayloadException("The Jira webhook body is not a JSON object.");
        }
        catch (JsonException ex)
        {
            throw new MalformedPayloadException("The Jira webhook body is not valid JSON.", ex);
        }

        var webhookEvent = StringOf(payload["webhookEvent"]) ?? throw new MalformedPayloadException("The Jira webhook has no 'webhookEvent'.");
        if (webhookEvent is not (IssueCreated or IssueUpdated))
        {
            return IntakeItem.Ignore(Source, $"event '{webhookEvent}' is not an issue being created or updated");
        }

        var issue = payload["issue"] as JsonObject ?? throw new MalformedPayloadException($"The Jira webhook '{webhookEvent}' has no 'issue'.");
        var key = StringOf(issue["key"]) is { Length: > 0 } k ? k : throw new MalformedPayloadException($"The Jira webhook '{webhookEvent}' has no 'issue.key'.");
        var fields = issue["fields"] as JsonObject ?? throw new MalformedPayloadException($"The Jira webhook '{webhookEvent}' has no 'issue.fields'.");
        var summary = StringOf(fields["summary"]) ?? throw new MalformedPayloadException($"The Jira webhook '{webhookEvent}' has no 'issue.fields.summary'.");
        var label = JiraSettings.Or(intakeLabel, JiraSettings.DefaultIntakeLabel);
        var labels = (fields["labels"] as JsonArray ?? []).Select(StringOf).OfType<string>();
        if (!labels.Contains(label, StringComparer.OrdinalIgnoreCase))
        {
            return IntakeItem.Ignore(Source, $"issue {key} does not have the label '{label}'");
        }

        var user = payload["user"] as JsonObject;
        var description = AtlassianDocument.ToText(fields["description"]);
        return new IntakeItem(IntakeKind.NewTask, Source, key, summary, description.Length == 0 ? null : description)
        {
            TrackerProjectKey = StringOf(fields["project"]?["key"]) ?? ProjectKeyOf(key),
            Url = BrowseUrl(jiraUrl, key),
            RequestedBy = StringOf(user?["displayName"]) ?? StringOf(user?["accountId"]),
        };
    }

    /// <summary>An issue found by the host's JQL poll, as the same intake item a webhook would make.</summary>
    public static IntakeItem ToIntake(TrackerIssue issue)
    {
        ArgumentNullException.ThrowIfNull(issue);
        return new IntakeItem(IntakeKind.NewTask, Source, issue.Key, issue.Title, string.IsNullOrEmpty(issue.Description) ? null : issue.Description)
        {
            TrackerProjectKey = issue.ProjectKey ?? ProjectKeyOf(issue.Key),
            Url = issue.Url,
        };
    }

    internal static string BrowseUrl(string jiraUrl, string key) => (jiraUrl ?? "").TrimEnd('/') + "/browse/" + Uri.EscapeDataString(key);

    private static string? ProjectKeyOf(string issueKey) => issueKey.LastIndexOf('-') is > 0 and var dash ? issueKey[..dash] : null;

    private static string? StringOf(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;
}
