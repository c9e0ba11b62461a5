using System.Text.Json;
using DevOrchestrator.Abstractions.Plugins;

namespace DevOrchestrator.Plugins.GitHub;

/// <summary>
/// GitHub webhook intake, as pure functions: the <c>X-Hub-Signature-256</c> check and the mapping of an
/// <c>issues</c> / <c>issue_comment</c> delivery (<c>X-GitHub-Event</c>) to an <see cref="IntakeItem"/>.
/// </summary>
public static class GitHubWebhooks
{
    public const string Source = "github";

    private const string SignaturePrefix = "sha256=";

    /// <summary>
    /// Whether <paramref name="signatureHeader"/> (<c>sha256=&lt;hex&gt;</c>) is the HMAC-SHA256 of
    /// <paramref name="body"/> under <paramref name="secret"/>; false for a missing, malformed or wrong signature, and
    /// for an empty secret. Compared in constant time.
    /// </summary>
    public static bool VerifySignature(string secret, ReadOnlySpan<byte> body, string? signatureHeader)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (secret.Length == 0 || signatureHeader is null || !signatureHeader.StartsWith(SignaturePrefix, StringComparison.Ordinal))
        {
            return false;
        }

        return WebhookSignatures.IsHmacSha256(secret, body, signatureHeader.AsSpan(SignaturePrefix.Length).Trim());
    }

    /// <summary>
    /// What a verified delivery asks for. <c>issues</c> <c>labeled</c> with <paramref name="intakeLabel"/> (or
    /// <c>opened</c> already carrying it) makes a task of the issue; an <c>issue_comment</c> <c>created</c> that starts
    /// with <paramref name="command"/> is feedback on a pull request, or makes a task of an issue with the comment's
    /// request appended. Everything else (including <c>ping</c>, and comments by bots) is ignored with a reason.
    /// </summary>
    /// <exception cref="MalformedPayloadException">The body is not JSON, or a field we need is missing or of the wrong type.</exception>
    public static IntakeItem Parse(string eventName, ReadOnlySpan<byte> body, string intakeLabel, string command)
    {
        ArgumentNullException.ThrowIfNull(eventName);
        ArgumentException.ThrowIfNullOrWhiteSpace(intakeLabel);
        ArgumentException.ThrowIfNullOrWhiteSpace(command);
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(body);
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException ex)
        {
            throw new MalformedPayloadException("The GitHub payload is not JSON.", ex);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new MalformedPayloadException("The GitHub payload is not a JSON object.");
            }

            return eventName switch
            {
                "ping" => IntakeItem.Ignore(Source, "ping: the webhook is set up"),
                "issues" => ParseIssueEvent(root, intakeLabel.Trim()),
                "issue_comment" => ParseCommentEvent(root, command.Trim()),
                _ => IntakeItem.Ignore(Source, $"event '{eventName}' is not handled"),
            };
        }
    }

    private static IntakeItem ParseIssueEvent(JsonElement root, string intakeLabel)
    {
        var action = RequiredString(root, "action");
        switch (action)
        {
            case "labeled":
                var label = RequiredString(Required(root, "label", JsonValueKind.Object), "name", "label.name");
                if (!string.Equals(label, intakeLabel, StringComparison.OrdinalIgnoreCase))
                {
                    return IntakeItem.Ignore(Source, $"label '{label}' is not the intake label '{intakeLabel}'");
                }

                break;
            case "opened":
                var labels = Required(Required(root, "issue", JsonValueKind.Object), "labels", JsonValueKind.Array, "issue.labels");
                var names = labels.EnumerateArray().Select((l, i) => l.ValueKind == JsonValueKind.Object
                    ? RequiredString(l, "name", $"issue.labels[{i}].name")
                    : throw new MalformedPayloadException($"issue.labels[{i}] must be an object."));
                if (!names.Any(n => string.Equals(n, intakeLabel, StringComparison.OrdinalIgnoreCase)))
                {
                    return IntakeItem.Ignore(Source, $"the new issue does not carry the intake label '{intakeLabel}'");
                }

                break;
            default:
                return IntakeItem.Ignore(Source, $"issues action '{action}' is not handled");
        }

        var issue = ReadIssue(root);
        return new IntakeItem(IntakeKind.NewTask, Source, issue.ExternalId, issue.Title, issue.Body)
        {
            RepositoryUrl = issue.RepositoryUrl,
            Url = issue.Url,
            RequestedBy = issue.Sender,
        };
    }

    private static IntakeItem ParseCommentEvent(JsonElement root, string command)
    {
        var action = RequiredString(root, "action");
        if (action != "created")
        {
            return IntakeItem.Ignore(Source, $"issue_comment action '{action}' is not handled");
        }

        var comment = Required(root, "comment", JsonValueKind.Object);
        var text = RequiredString(comment, "body", "comment.body").TrimStart();
        if (!text.StartsWith(command, StringComparison.Ordinal) || (text.Length > command.Length && !char.IsWhiteSpace(text[command.Length])))
        {
            return IntakeItem.Ignore(Source, $"the comment does not start with '{command}'");
        }

        var sender = Required(root, "sender", JsonValueKind.Object);
        if (OptionalString(sender, "type", "sender.type") == "Bot")
        {
            return IntakeItem.Ignore(Source, "comments by bots are not acted on");
        }

        var request = text[command.Length..].Trim();
        var issue = ReadIssue(root);
        var issueElement = root.GetProperty("issue");
        var onPullRequest = issueElement.TryGetProperty("pull_request", out var pull) && pull.ValueKind == JsonValueKind.Object;
        if (onPullRequest)
        {
            if (request.Length == 0)
            {
                return IntakeItem.Ignore(Source, $"'{command}' on a pull request needs the feedback after it");
            }

            return new IntakeItem(IntakeKind.Feedback, Source, issue.ExternalId, issue.Title, issue.Body)
            {
                RepositoryUrl = issue.RepositoryUrl,
                Url = issue.Url,
                RequestedBy = issue.Sender,
                PullRequestNumber = issue.Number,
                Feedback = request,
            };
        }

        var description = request.Length == 0 ? issue.Body : $"{issue.Body}\n\nRequest: {request}";
        return new IntakeItem(IntakeKind.NewTask, Source, issue.ExternalId, issue.Title, description)
        {
            RepositoryUrl = issue.RepositoryUrl,
            Url = issue.Url,
            RequestedBy = issue.Sender,
        };
    }

    private static IssueFields ReadIssue(JsonElement root)
    {
        var issue = Required(root, "issue", JsonValueKind.Object);
        var repository = Required(root, "repository", JsonValueKind.Object);
        var sender = Required(root, "sender", JsonValueKind.Object);
        var numberElement = Required(issue, "number", JsonValueKind.Number, "issue.number");
        if (!numberElement.TryGetInt32(out var number) || number <= 0)
        {
            throw new MalformedPayloadException("issue.number must be a positive integer.");
        }

        var fullName = RequiredString(repository, "full_name", "repository.full_name");
        return new IssueFields(
            number,
            $"{fullName}#{number}",
            RequiredString(issue, "title", "issue.title"),
            OptionalString(issue, "body", "issue.body"),
            RequiredString(issue, "html_url", "issue.html_url"),
            RequiredString(repository, "html_url", "repository.html_url"),
            RequiredString(sender, "login", "sender.login"));
    }

    private static JsonElement Required(JsonElement parent, string name, JsonValueKind kind, string? path = null)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            throw new MalformedPayloadException($"{path ?? name} is missing.");
        }

        return value.ValueKind == kind ? value : throw new MalformedPayloadException($"{path ?? name} must be {Describe(kind)}, not {Describe(value.ValueKind)}.");
    }

    private static string RequiredString(JsonElement parent, string name, string? path = null) =>
        Required(parent, name, JsonValueKind.String, path).GetString()!;

    private static string? OptionalString(JsonElement parent, string name, string path)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw new MalformedPayloadException($"{path} must be a string or null, not {Describe(value.ValueKind)}.");
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private sealed record IssueFields(int Number, string ExternalId, string Title, string? Body, string Url, string RepositoryUrl, string Sender);
}
