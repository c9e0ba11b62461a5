using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DevOrchestrator.Abstractions.Plugins;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Polly.RateLimiting;
using Polly.Timeout;

namespace DevOrchestrator.Plugins.Jira;

/// <summary>
/// Jira Cloud (REST API v3) as the task tracker: issues, enhanced JQL search, comments and transitions, with the
/// idempotency key of each created issue and comment stored as its <c>devorch</c> entity property. Authenticates with
/// basic auth (<c>JIRA_EMAIL</c> : <c>JIRA_API_TOKEN</c>), read from the current settings on every call.
/// </summary>
public sealed partial class JiraPlugin(IHttpClientFactory httpClientFactory, IOptionsMonitor<JiraSettings> settings, ILogger<JiraPlugin> logger)
    : ITaskManagementPlugin
{
    /// <summary>The plugin's name, its HTTP client's name and its resilience key.</summary>
    public const string PluginName = "jira";

    /// <summary>The entity property that carries <c>{"idempotency_key": …}</c> on issues and comments we create.</summary>
    public const string PropertyKey = "devorch";

    /// <summary>The issue fields every read asks for.</summary>
    public const string IssueFields = "summary,description,status,issuetype,project,labels";

    private const int SummaryMaxLength = 255;
    private const int FindIssuePageSize = 50;
    private const int FindIssueMaxPages = 4;
    private const int CommentPageSize = 100;
    private const int CommentMaxPages = 50;

    private static readonly JiraSettingsValidator s_validator = new();

    private static readonly IReadOnlyList<PluginSetting> s_settings =
    [
        new("JIRA_URL", "The Jira Cloud site, e.g. https://your-domain.atlassian.net.", Required: true),
        new("JIRA_EMAIL", "The email address of the Atlassian account the API token belongs to.", Required: true),
        new("JIRA_API_TOKEN", "An Atlassian API token of that account (basic auth with the email).", Required: true, Secret: true),
        new("JIRA_WEBHOOK_SECRET", "The secret of the Jira admin webhook (verifies X-Hub-Signature on /webhooks/jira).", Secret: true),
        new("JIRA_RATE_LIMIT_REQUESTS_PER_SECOND", "Overrides RATE_LIMIT_REQUESTS_PER_SECOND for Jira calls."),
        new("JIRA_STATUS_TODO", "The Jira status for 'todo'.", Default: JiraSettings.DefaultStatusTodo),
        new("JIRA_STATUS_IN_PROGRESS", "The Jira status for 'in_progress'.", Default: JiraSettings.DefaultStatusInProgress),
        new("JIRA_STATUS_IN_REVIEW", "The Jira status for 'in_review'.", Default: JiraSettings.DefaultStatusInReview),
        new("JIRA_STATUS_DONE", "The Jira status for 'done'.", Default: JiraSettings.DefaultStatusDone),
        new("JIRA_ISSUE_TYPE_TASK", "The issue type of created tasks.", Default: JiraSettings.DefaultIssueTypeTask),
        new("JIRA_ISSUE_TYPE_EPIC", "The issue type of created epics.", Default: JiraSettings.DefaultIssueTypeEpic),
        new("JIRA_INTAKE_LABEL", "Issues with this label become tasks (webhook and poll).", Default: JiraSettings.DefaultIntakeLabel),
        new("JIRA_INTAKE_STATUS", "The status the poll picks issues up in.", Default: JiraSettings.DefaultStatusTodo),
        new("JIRA_POLL_INTERVAL_SECONDS", "Seconds between JQL polls for new issues; 0 turns polling off (else at least 10).", Default: "300"),
        new("JIRA_POLL_JQL", "The poll's JQL instead of project in (…) AND labels = LABEL AND status = STATUS."),
    ];

    public string Type => PluginTypes.TaskManagement;

    public string Name => PluginName;

    public string Description => "Jira Cloud: reads and creates issues and epics, comments, moves issues through the workflow; intake by webhook or JQL poll.";

    public IReadOnlyList<PluginSetting> Settings => s_settings;

    public bool IsConfigured
    {
        get
        {
            try
            {
                return settings.CurrentValue.IsConfigured;
            }
            catch (OptionsValidationException)
            {
                return false;
            }
        }
    }

    public IReadOnlyDictionary<string, string> Validate(IReadOnlyDictionary<string, string?> values) =>
        PluginSettingsBinding.Validate(values, s_validator, Settings);

    /// <summary>
    /// The JQL of the intake poll: <c>JIRA_POLL_JQL</c> when set, else
    /// <c>project in ("A", "B") AND labels = "LABEL" AND status = "STATUS"</c> (the project clause left out when
    /// there are no keys), every value quoted and escaped.
    /// </summary>
    public string BuildIntakeJql(IReadOnlyCollection<string> projectKeys)
    {
        ArgumentNullException.ThrowIfNull(projectKeys);
        var current = settings.CurrentValue;
        if (!string.IsNullOrWhiteSpace(current.PollJql))
        {
            return current.PollJql.Trim();
        }

        var clauses = new List<string>(3);
        var keys = projectKeys.Where(k => !string.IsNullOrWhiteSpace(k)).Select(k => k.Trim()).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        if (keys.Count > 0)
        {
            clauses.Add($"project in ({string.Join(", ", keys.Select(JiraJql.Quote))})");
        }

        clauses.Add($"labels = {JiraJql.Quote(current.EffectiveIntakeLabel)}");
        clauses.Add($"status = {JiraJql.Quote(current.EffectiveIntakeStatus)}");
        return string.Join(" AND ", clauses);
    }

    public async Task<PluginConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        var site = Current().Url!.Trim().TrimEnd('/');
        var me = await SendAsync(HttpMethod.Get, "rest/api/3/myself", null, cancellationToken) ?? new JsonObject();
        var accountId = Str(me["accountId"]);
        var displayName = Str(me["displayName"]);
        var details = new Dictionary<string, object>(StringComparer.Ordinal) { ["site"] = site };
        if (accountId is not null)
        {
            details["account_id"] = accountId;
        }

        if (displayName is not null)
        {
            details["display_name"] = displayName;
        }

        return new PluginConnection(displayName ?? accountId ?? "unknown", details);
    }

    public async Task<PluginHealth> CheckHealthAsync(CancellationToken cancellationToken)
    {
        if (!IsConfigured)
        {
            return PluginHealth.Failed("not configured: set JIRA_URL, JIRA_EMAIL and JIRA_API_TOKEN");
        }

        try
        {
            var connection = await ConnectAsync(cancellationToken);
            return new PluginHealth(true, $"connected as {connection.Identity}", connection.Details);
        }
        catch (PluginException ex)
        {
            return PluginHealth.Failed(ex.Message);
        }
    }

    public async Task<TrackerIssue> GetIssueAsync(string issueKey, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(issueKey);
        var issue = await SendAsync(HttpMethod.Get, $"rest/api/3/issue/{Segment(issueKey)}?fields={IssueFields}", null, cancellationToken);
        return ToIssue(issue ?? throw Unexpected("GET issue", "an empty body"));
    }

    public async Task<TrackerIssuePage> SearchAsync(string query, string? pageToken, int maxResults, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(query);
        var body = new JsonObject
        {
            ["jql"] = query,
            ["maxResults"] = maxResults <= 0 ? 50 : Math.Min(maxResults, 5000),
            ["fields"] = new JsonArray(IssueFields.Split(',').Select(f => (JsonNode)f).ToArray()),
        };
        if (!string.IsNullOrEmpty(pageToken))
        {
            body["nextPageToken"] = pageToken;
        }

        var result = await SendAsync(HttpMethod.Post, "rest/api/3/search/jql", body, cancellationToken, repeatable: true) ?? throw Unexpected("search", "an empty body");
        var issues = (result["issues"] as JsonArray ?? []).OfType<JsonObject>().Select(ToIssue).ToList();
        var next = Str(result["nextPageToken"]);
        var isLast = result["isLast"] is JsonValue last && last.GetValueKind() == JsonValueKind.True;
        return new TrackerIssuePage(issues, isLast || string.IsNullOrEmpty(next) ? null : next);
    }

    public async Task<TrackerIssue> CreateIssueAsync(TrackerIssueDraft draft, string idempotencyKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(draft);
        ArgumentException.ThrowIfNullOrWhiteSpace(draft.ProjectKey);
        ArgumentException.ThrowIfNullOrWhiteSpace(idempotencyKey);
        var current = Current();
        var fields = new JsonObject
        {
            ["project"] = new JsonObject { ["key"] = draft.ProjectKey.Trim() },
            ["summary"] = Summary(draft.Title),
            ["issuetype"] = new JsonObject { ["name"] = current.IssueTypeName(draft.Kind) },
        };
        if (!string.IsNullOrWhiteSpace(draft.Description))
        {
            fields["description"] = AtlassianDocument.FromText(draft.Description);
        }

        var labels = (draft.Labels ?? []).Select(Label).Where(l => l.Length > 0).Distinct(StringComparer.Ordinal).ToArray();
        if (labels.Length > 0)
        {
            fields["labels"] = new JsonArray(labels.Select(l => (JsonNode)l).ToArray());
        }

        if (!string.IsNullOrWhiteSpace(draft.ParentKey))
        {
            fields["parent"] = new JsonObject { ["key"] = draft.ParentKey.Trim() };
        }

        var body = new JsonObject { ["fields"] = fields, ["properties"] = IdempotencyProperties(idempotencyKey) };
        var created = await SendAsync(HttpMethod.Post, "rest/api/3/issue", body, cancellationToken) ?? throw Unexpected("create issue", "an empty body");
        var key = Str(created["key"]) ?? throw Unexpected("create issue", "no 'key'");
        LogIssueCreated(logger, key, draft.ProjectKey);
        var issue = await GetIssueAsync(key, cancellationToken);
        return issue with { Created = true };
    }

    public async Task<TrackerIssue?> FindIssueAsync(TrackerIssueDraft draft, string idempotencyKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(draft);
        ArgumentException.ThrowIfNullOrWhiteSpace(draft.ProjectKey);
        ArgumentException.ThrowIfNullOrWhiteSpace(idempotencyKey);
        var terms = JiraJql.TextSearchTerms(Summary(draft.Title));
        var jql = $"project = {JiraJql.Quote(draft.ProjectKey.Trim())}"
            + (terms.Length > 0 ? $" AND summary ~ {JiraJql.Quote(terms)}" : "")
            + " ORDER BY created DESC";
        string? token = null;
        for (var page = 0; page < FindIssueMaxPages; page++)
        {
            var result = await SearchAsync(jql, token, FindIssuePageSize, cancellationToken);
            foreach (var candidate in result.Issues)
            {
                var property = await SendAsync(HttpMethod.Get, $"rest/api/3/issue/{Segment(candidate.Key)}/properties/{PropertyKey}", null, cancellationToken, notFoundIsNull: true);
                if (HasIdempotencyKey(property?["value"], idempotencyKey))
                {
                    LogFoundExisting(logger, "issue", candidate.Key, idempotencyKey);
                    return candidate with { Created = false };
                }
            }

            token = result.NextPageToken;
            if (token is null)
            {
                break;
            }
        }

        return null;
    }

    public async Task<ExternalObject> AddCommentAsync(string issueKey, string text, string idempotencyKey, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(issueKey);
        ArgumentNullException.ThrowIfNull(text);
        ArgumentException.ThrowIfNullOrWhiteSpace(idempotencyKey);
        var body = new JsonObject { ["body"] = AtlassianDocument.FromText(text), ["properties"] = IdempotencyProperties(idempotencyKey) };
        var comment = await SendAsync(HttpMethod.Post, $"rest/api/3/issue/{Segment(issueKey)}/comment", body, cancellationToken)
            ?? throw Unexpected("add comment", "an empty body");
        var id = Str(comment["id"]) ?? throw Unexpected("add comment", "no 'id'");
        LogCommented(logger, issueKey, id);
        return new ExternalObject(id, CommentUrl(issueKey, id));
    }

    public async Task<ExternalObject?> FindCommentAsync(string issueKey, string idempotencyKey, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(issueKey);
        ArgumentException.ThrowIfNullOrWhiteSpace(idempotencyKey);
        var startAt = 0;
        for (var page = 0; page < CommentMaxPages; page++)
        {
            var result = await SendAsync(HttpMethod.Get,
                $"rest/api/3/issue/{Segment(issueKey)}/comment?startAt={startAt}&maxResults={CommentPageSize}&orderBy=-created&expand=properties", null, cancellationToken)
                ?? throw Unexpected("get comments", "an empty body");
            var comments = (result["comments"] as JsonArray ?? []).OfType<JsonObject>().ToList();
            foreach (var comment in comments)
            {
                if (Str(comment["id"]) is not { } id)
                {
                    continue;
                }

                JsonNode? value;
                if (comment["properties"] is JsonArray properties)
                {
                    value = properties.OfType<JsonObject>().FirstOrDefault(p => Str(p["key"]) == PropertyKey)?["value"];
                }
                else
                {
                    // The listing did not expand the properties: ask for this comment's own.
                    var property = await SendAsync(HttpMethod.Get, $"rest/api/3/comment/{Segment(id)}/properties/{PropertyKey}", null, cancellationToken, notFoundIsNull: true);
                    value = property?["value"];
                }

                if (HasIdempotencyKey(value, idempotencyKey))
                {
                    LogFoundExisting(logger, "comment", issueKey, idempotencyKey);
                    return new ExternalObject(id, CommentUrl(issueKey, id), Created: false);
                }
            }

            startAt += comments.Count;
            var total = result["total"] is JsonValue t && t.TryGetValue<int>(out var n) ? n : (int?)null;
            if (comments.Count == 0 || (total is { } all && startAt >= all))
            {
                break;
            }
        }

        return null;
    }

    public async Task<TrackerTransition> TransitionAsync(string issueKey, string targetStatus, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(issueKey);
        ArgumentException.ThrowIfNullOrWhiteSpace(targetStatus);
        var target = Current().StatusName(targetStatus.Trim());
        var issue = await SendAsync(HttpMethod.Get, $"rest/api/3/issue/{Segment(issueKey)}?fields=status", null, cancellationToken)
            ?? throw Unexpected("GET issue", "an empty body");
        var from = Str(issue["fields"]?["status"]?["name"]) ?? "";
        if (string.Equals(from, target, StringComparison.OrdinalIgnoreCase))
        {
            return new TrackerTransition(issueKey, from, from, Changed: false);
        }

        var result = await SendAsync(HttpMethod.Get, $"rest/api/3/issue/{Segment(issueKey)}/transitions", null, cancellationToken)
            ?? throw Unexpected("get transitions", "an empty body");
        var transitions = (result["transitions"] as JsonArray ?? []).OfType<JsonObject>()
            .Where(t => t["isAvailable"] is not JsonValue available || available.GetValueKind() != JsonValueKind.False)
            .ToList();
        var chosen = transitions.FirstOrDefault(t => string.Equals(Str(t["to"]?["name"]), target, StringComparison.OrdinalIgnoreCase))
            ?? transitions.FirstOrDefault(t => string.Equals(Str(t["name"]), target, StringComparison.OrdinalIgnoreCase));
        if (chosen is null || Str(chosen["id"]) is not { } transitionId)
        {
            var reachable = string.Join(", ", transitions.Select(t => Str(t["to"]?["name"])).OfType<string>().Distinct(StringComparer.OrdinalIgnoreCase).Select(s => $"'{s}'"));
            throw new PluginException(PluginName,
                $"issue {issueKey} cannot move from '{from}' to '{target}': no available transition leads there (available target statuses: {(reachable.Length > 0 ? reachable : "none")})");
        }

        var body = new JsonObject { ["transition"] = new JsonObject { ["id"] = transitionId } };
        await SendAsync(HttpMethod.Post, $"rest/api/3/issue/{Segment(issueKey)}/transitions", body, cancellationToken);
        var to = Str(chosen["to"]?["name"]) ?? target;
        LogTransitioned(logger, issueKey, from, to);
        return new TrackerTransition(issueKey, from, to, Changed: true);
    }

    private JiraSettings Current()
    {
        JiraSettings current;
        try
        {
            current = settings.CurrentValue;
        }
        catch (OptionsValidationException ex)
        {
            throw new PluginException(PluginName, "the settings are invalid: " + string.Join(" ", ex.Failures), null, ex);
        }

        return current.IsConfigured ? current : throw new PluginException(PluginName, "not configured: set JIRA_URL, JIRA_EMAIL and JIRA_API_TOKEN");
    }

    /// <summary>Sends one call through the "jira" client (and its resilience); a vendor failure becomes a <see cref="PluginException"/>.</summary>
    private async Task<JsonNode?> SendAsync(HttpMethod method, string pathAndQuery, JsonNode? body, CancellationToken cancellationToken, bool notFoundIsNull = false, bool repeatable = false)
    {
        var current = Current();
        var token = current.ApiToken!.Trim();
        var baseUrl = new Uri(current.Url!.Trim().TrimEnd('/') + "/");
        var path = "/" + (pathAndQuery.IndexOf('?', StringComparison.Ordinal) is >= 0 and var q ? pathAndQuery[..q] : pathAndQuery);
        using var request = new HttpRequestMessage(method, new Uri(baseUrl, pathAndQuery));
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{current.Email!.Trim()}:{token}")));
        request.Options.Set(PluginResilience.RepeatableWrite, repeatable);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        var client = httpClientFactory.CreateClient(PluginName);
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (BrokenCircuitException ex)
        {
            throw new PluginException(PluginName, $"{method} {path}: {ex.Message}", null, ex);
        }
        catch (Exception ex) when (ex is TimeoutRejectedException or TaskCanceledException)
        {
            LogCallFailed(logger, method.Method, path, 0);
            throw new PluginException(PluginName, $"{method} {path}: Jira did not answer in time", null, ex);
        }
        catch (RateLimiterRejectedException ex)
        {
            throw new PluginException(PluginName, $"{method} {path}: refused by the local rate limit", 429, ex);
        }
        catch (HttpRequestException ex)
        {
            LogCallFailed(logger, method.Method, path, 0);
            throw new PluginException(PluginName, $"{method} {path}: could not reach Jira at {baseUrl.Host}: {Redact(ex.Message, token)}", null, ex);
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                return text.Length == 0 || response.StatusCode == HttpStatusCode.NoContent ? null : ParseJson(text, method, path);
            }

            if (notFoundIsNull && response.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }

            LogCallFailed(logger, method.Method, path, status);
            var vendor = Redact(VendorError(text), token);
            var what = response.StatusCode switch
            {
                HttpStatusCode.Unauthorized => "Jira refused the credentials (401): check JIRA_EMAIL and JIRA_API_TOKEN",
                HttpStatusCode.Forbidden => "the Jira account lacks permission (403)",
                HttpStatusCode.NotFound => "not found (404)",
                HttpStatusCode.TooManyRequests => "rate limited by Jira (429) after retries",
                _ => $"failed with {status} {response.ReasonPhrase}",
            };
            throw new PluginException(PluginName, $"{method} {path}: {what}{(vendor.Length > 0 ? ": " + vendor : "")}", status);
        }
    }

    private static JsonNode? ParseJson(string text, HttpMethod method, string path)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException ex)
        {
            throw new PluginException(PluginName, $"{method} {path}: Jira answered with something that is not JSON", null, ex);
        }
    }

    /// <summary>Jira's <c>{"errorMessages": […], "errors": {field: message}}</c> as one line; other bodies shortened.</summary>
    internal static string VendorError(string body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return "";
        }

        try
        {
            if (JsonNode.Parse(body) is JsonObject error)
            {
                var parts = (error["errorMessages"] as JsonArray ?? []).Select(Str).OfType<string>().Where(m => m.Length > 0).ToList();
                if (error["errors"] is JsonObject fields)
                {
                    parts.AddRange(fields.Select(f => $"{f.Key}: {FieldError(f.Value)}"));
                }

                if (parts.Count > 0)
                {
                    return string.Join("; ", parts);
                }

                if (Str(error["message"]) is { Length: > 0 } message)
                {
                    return message;
                }
            }
        }
        catch (JsonException)
        {
        }

        var trimmed = body.Trim();
        return trimmed.StartsWith('<') ? "" : trimmed.Length > 300 ? trimmed[..300] + "…" : trimmed;
    }

    private static string? FieldError(JsonNode? value) =>
        value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : value?.ToJsonString();

    private static string Redact(string text, string secret) =>
        secret.Length > 0 ? text.Replace(secret, "***", StringComparison.Ordinal) : text;

    private TrackerIssue ToIssue(JsonNode issue)
    {
        var fields = issue["fields"] as JsonObject ?? new JsonObject();
        var key = Str(issue["key"]) ?? throw Unexpected("issue", "an issue without 'key'");
        var description = AtlassianDocument.ToText(fields["description"]);
        return new TrackerIssue(
            key,
            Str(issue["id"]) ?? "",
            Str(fields["summary"]) ?? "",
            description.Length == 0 ? null : description,
            Str(fields["status"]?["name"]) ?? "",
            Str(fields["issuetype"]?["name"]),
            Str(fields["project"]?["key"]),
            (fields["labels"] as JsonArray ?? []).Select(Str).OfType<string>().ToList(),
            JiraWebhooks.BrowseUrl(Current().Url!.Trim(), key));
    }

    private string CommentUrl(string issueKey, string commentId) =>
        JiraWebhooks.BrowseUrl(Current().Url!.Trim(), issueKey) + "?focusedCommentId=" + Uri.EscapeDataString(commentId);

    private static JsonArray IdempotencyProperties(string idempotencyKey) =>
        new(new JsonObject { ["key"] = PropertyKey, ["value"] = new JsonObject { ["idempotency_key"] = idempotencyKey } });

    private static bool HasIdempotencyKey(JsonNode? value, string idempotencyKey) =>
        value is JsonObject obj && Str(obj["idempotency_key"]) == idempotencyKey;

    /// <summary>Jira's summary is one line of at most 255 characters.</summary>
    internal static string Summary(string? title)
    {
        var line = string.Join(' ', (title ?? "").Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return line.Length <= SummaryMaxLength ? line : line[..(SummaryMaxLength - 1)] + "…";
    }

    /// <summary>Jira labels cannot contain spaces.</summary>
    private static string Label(string label) =>
        string.Join('-', (label ?? "").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    private static string Segment(string value) => Uri.EscapeDataString(value.Trim());

    private static string? Str(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    private static PluginException Unexpected(string call, string what) => new(PluginName, $"{call}: Jira answered with {what}");

    [LoggerMessage(Level = LogLevel.Information, Message = "Created Jira issue {IssueKey} in project {ProjectKey}")]
    private static partial void LogIssueCreated(ILogger logger, string issueKey, string projectKey);

    [LoggerMessage(Level = LogLevel.Information, Message = "Commented on Jira issue {IssueKey} (comment {CommentId})")]
    private static partial void LogCommented(ILogger logger, string issueKey, string commentId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Moved Jira issue {IssueKey} from '{FromStatus}' to '{ToStatus}'")]
    private static partial void LogTransitioned(ILogger logger, string issueKey, string fromStatus, string toStatus);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Found the Jira {Kind} on {IssueKey} made earlier with idempotency key {IdempotencyKey}")]
    private static partial void LogFoundExisting(ILogger logger, string kind, string issueKey, string idempotencyKey);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Jira call {Method} {Path} failed (status {StatusCode}; 0 = no answer)")]
    private static partial void LogCallFailed(ILogger logger, string method, string path, int statusCode);
}
