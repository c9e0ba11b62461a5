using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace DevOrchestrator.FakeVendors;

/// <summary>
/// A fake Jira Cloud site (REST API v3) for the Jira plugin's tests: basic auth for one email and API token; projects,
/// issues (keys <c>PROJ-N</c>), entity properties, comments with properties, statuses and a workflow of transitions,
/// all in memory; the enhanced JQL search with <c>nextPageToken</c> paging over a small JQL subset
/// (<c>project =</c>/<c>in</c>, <c>labels =</c>, <c>status =</c>, <c>summary ~</c>, <c>key =</c>, joined by
/// <c>AND</c>; <c>ORDER BY</c> ignored, results in creation order). Errors use Jira's
/// <c>{"errorMessages": […], "errors": {field: message}}</c>.
/// </summary>
public sealed class FakeJiraServer(string email = FakeJiraServer.DefaultEmail, string apiToken = FakeJiraServer.DefaultApiToken) : FakeVendorServer
{
    public const string DefaultEmail = "devorch-bot@example.test";
    public const string DefaultApiToken = "test-jira-api-token-not-real";
    public const string AccountId = "5b10ac8d82e05b22cc7d4ef5";
    public const string DisplayName = "DevOrch Bot";

    private readonly Lock _lock = new();
    private readonly Dictionary<string, FakeJiraProject> _projects = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<FakeJiraIssue> _issues = [];
    private readonly List<FakeJiraTransition> _workflow = [];
    private long _nextIssueId = 10000;
    private long _nextCommentId = 20000;

    public string Email { get; } = email;
    public string ApiToken { get; } = apiToken;

    /// <summary>The <c>Authorization</c> header value the server accepts.</summary>
    public string ExpectedAuthorization => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Email}:{ApiToken}"));

    /// <summary>The status names of the site, in workflow order.</summary>
    public static IReadOnlyList<string> Statuses { get; } = ["To Do", "In Progress", "In Review", "Done"];

    /// <summary>
    /// Whether <c>GET …/comment?expand=properties</c> includes each comment's <c>properties</c> (true); when false
    /// the listing leaves them out and clients must read <c>GET /rest/api/3/comment/{id}/properties/{key}</c>.
    /// </summary>
    public bool ExpandCommentProperties { get; set; } = true;

    public IReadOnlyList<FakeJiraProject> Projects
    {
        get
        {
            lock (_lock)
            {
                return _projects.Values.ToArray();
            }
        }
    }

    /// <summary>A snapshot of the issues, in creation order.</summary>
    public IReadOnlyList<FakeJiraIssue> Issues
    {
        get
        {
            lock (_lock)
            {
                return _issues.ToArray();
            }
        }
    }

    /// <summary>The workflow's transitions (a snapshot); see <see cref="SetWorkflow"/>.</summary>
    public IReadOnlyList<FakeJiraTransition> Workflow
    {
        get
        {
            lock (_lock)
            {
                return _workflow.Count == 0 ? DefaultWorkflow : _workflow.ToArray();
            }
        }
    }

    /// <summary>To Do → In Progress → In Review → Done, each step back, and Done → To Do (reopen).</summary>
    public static IReadOnlyList<FakeJiraTransition> DefaultWorkflow { get; } =
    [
        new("11", "Start progress", "To Do", "In Progress"),
        new("21", "Submit for review", "In Progress", "In Review"),
        new("31", "Approve", "In Review", "Done"),
        new("41", "Stop progress", "In Progress", "To Do"),
        new("51", "Request changes", "In Review", "In Progress"),
        new("61", "Reopen", "Done", "To Do"),
    ];

    /// <summary>Replaces the workflow (transitions with a null <see cref="FakeJiraTransition.From"/> are available from any status).</summary>
    public void SetWorkflow(params FakeJiraTransition[] transitions)
    {
        lock (_lock)
        {
            _workflow.Clear();
            _workflow.AddRange(transitions);
        }
    }

    /// <summary>Adds a project (issue types Task, Epic, Story, Bug and Subtask); harmless when it exists.</summary>
    public FakeJiraProject AddProject(string key, string? name = null)
    {
        lock (_lock)
        {
            if (!_projects.TryGetValue(key, out var project))
            {
                project = new FakeJiraProject(key, (10000 + _projects.Count).ToString(CultureInfo.InvariantCulture), name ?? key + " project");
                _projects[key] = project;
            }

            return project;
        }
    }

    /// <summary>Adds an issue as if a user created it (the project is added when missing). <paramref name="description"/> is ADF (or null).</summary>
    public FakeJiraIssue AddIssue(string projectKey, string summary, JsonObject? description = null, IEnumerable<string>? labels = null,
        string status = "To Do", string issueType = "Task")
    {
        AddProject(projectKey);
        lock (_lock)
        {
            return NewIssue(_projects[projectKey], summary, description, issueType, status, labels ?? [], null);
        }
    }

    /// <summary>The issue with this key, or null.</summary>
    public FakeJiraIssue? Issue(string key)
    {
        lock (_lock)
        {
            return _issues.FirstOrDefault(i => string.Equals(i.Key, key, StringComparison.OrdinalIgnoreCase));
        }
    }

    /// <summary>Adds a comment as if a user wrote it, optionally with entity properties.</summary>
    public FakeJiraComment AddComment(string issueKey, string text, IReadOnlyDictionary<string, JsonNode>? properties = null)
    {
        lock (_lock)
        {
            var issue = Issue(issueKey) ?? throw new InvalidOperationException($"no issue {issueKey}");
            return issue.AddComment(NextCommentId(), ParagraphDoc(text), properties ?? new Dictionary<string, JsonNode>());
        }
    }

    protected override string? Authenticate(HttpRequest request) =>
        string.Equals(request.Headers.Authorization.ToString(), ExpectedAuthorization, StringComparison.Ordinal)
            ? null
            : "Client must be authenticated to access this resource.";

    protected override Task WriteErrorAsync(HttpContext context, int statusCode, string message) =>
        WriteJsonAsync(context, statusCode, new JsonObject { ["errorMessages"] = new JsonArray(message), ["errors"] = new JsonObject() });

    protected override void MapRoutes(WebApplication app)
    {
        app.MapGet("/rest/api/3/myself", context => WriteJsonAsync(context, 200, new JsonObject
        {
            ["self"] = Self(context, $"rest/api/3/user?accountId={AccountId}"),
            ["accountId"] = AccountId,
            ["accountType"] = "atlassian",
            ["emailAddress"] = Email,
            ["displayName"] = DisplayName,
            ["active"] = true,
            ["timeZone"] = "UTC",
        }));

        app.MapGet("/rest/api/3/issue/{issueIdOrKey}", (HttpContext context, string issueIdOrKey) =>
        {
            var fields = FieldList(context.Request.Query["fields"].ToString());
            lock (_lock)
            {
                return WriteJsonAsync(context, 200, IssueJson(context, FindIssue(issueIdOrKey), fields));
            }
        });

        app.MapPost("/rest/api/3/issue", CreateIssue);

        app.MapGet("/rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}", (HttpContext context, string issueIdOrKey, string propertyKey) =>
        {
            lock (_lock)
            {
                var issue = FindIssue(issueIdOrKey);
                return issue.PropertiesMutable.TryGetValue(propertyKey, out var value)
                    ? WriteJsonAsync(context, 200, new JsonObject { ["key"] = propertyKey, ["value"] = value.DeepClone() })
                    : throw new BadVendorRequestException(404, $"The property with key '{propertyKey}' does not exist.");
            }
        });

        app.MapPost("/rest/api/3/search/jql", Search);

        app.MapGet("/rest/api/3/issue/{issueIdOrKey}/comment", (HttpContext context, string issueIdOrKey) =>
        {
            var query = context.Request.Query;
            var startAt = int.TryParse(query["startAt"], CultureInfo.InvariantCulture, out var s) ? Math.Max(s, 0) : 0;
            var maxResults = int.TryParse(query["maxResults"], CultureInfo.InvariantCulture, out var m) ? Math.Clamp(m, 1, 100) : 100;
            var expandProperties = ExpandCommentProperties
                && query["expand"].ToString().Split(',').Contains("properties", StringComparer.Ordinal);
            lock (_lock)
            {
                var issue = FindIssue(issueIdOrKey);
                IEnumerable<FakeJiraComment> ordered = issue.CommentsMutable;
                if (query["orderBy"].ToString() == "-created")
                {
                    ordered = ordered.Reverse();
                }

                var page = ordered.Skip(startAt).Take(maxResults).Select(c => CommentJson(context, issue, c, expandProperties)).ToArray();
                return WriteJsonAsync(context, 200, new JsonObject
                {
                    ["startAt"] = startAt,
                    ["maxResults"] = maxResults,
                    ["total"] = issue.CommentsMutable.Count,
                    ["comments"] = new JsonArray(page),
                });
            }
        });

        app.MapPost("/rest/api/3/issue/{issueIdOrKey}/comment", (HttpContext context, string issueIdOrKey) =>
        {
            var body = JsonBody(context);
            if (body["body"] is not JsonObject doc)
            {
                throw new BadVendorRequestException(400, "Comment body can not be empty!");
            }

            RequireDocument(doc, "body");
            var properties = Properties(body);
            lock (_lock)
            {
                var issue = FindIssue(issueIdOrKey);
                var comment = issue.AddComment(NextCommentId(), (JsonObject)doc.DeepClone(), properties);
                return WriteJsonAsync(context, 201, CommentJson(context, issue, comment, expandProperties: false));
            }
        });

        app.MapGet("/rest/api/3/comment/{commentId}/properties/{propertyKey}", (HttpContext context, string commentId, string propertyKey) =>
        {
            lock (_lock)
            {
                var comment = _issues.SelectMany(i => i.CommentsMutable).FirstOrDefault(c => c.Id == commentId)
                    ?? throw new BadVendorRequestException(404, "Can not find a comment for the id: " + commentId + ".");
                return comment.PropertiesMutable.TryGetValue(propertyKey, out var value)
                    ? WriteJsonAsync(context, 200, new JsonObject { ["key"] = propertyKey, ["value"] = value.DeepClone() })
                    : throw new BadVendorRequestException(404, $"The property with key '{propertyKey}' does not exist.");
            }
        });

        app.MapGet("/rest/api/3/issue/{issueIdOrKey}/transitions", (HttpContext context, string issueIdOrKey) =>
        {
            lock (_lock)
            {
                var issue = FindIssue(issueIdOrKey);
                var transitions = AvailableTransitions(issue).Select(t => (JsonNode)new JsonObject
                {
                    ["id"] = t.Id,
                    ["name"] = t.Name,
                    ["to"] = StatusJson(context, t.To),
                    ["hasScreen"] = false,
                    ["isGlobal"] = t.From is null,
                    ["isInitial"] = false,
                    ["isAvailable"] = true,
                    ["isConditional"] = false,
                    ["isLooped"] = false,
                }).ToArray();
                return WriteJsonAsync(context, 200, new JsonObject { ["transitions"] = new JsonArray(transitions) });
            }
        });

        app.MapPost("/rest/api/3/issue/{issueIdOrKey}/transitions", (HttpContext context, string issueIdOrKey) =>
        {
            var body = JsonBody(context);
            var id = body["transition"]?["id"] is JsonValue v ? v.ToString() : null;
            if (string.IsNullOrEmpty(id))
            {
                throw new BadVendorRequestException(400, "Missing 'transition' identifier");
            }

            lock (_lock)
            {
                var issue = FindIssue(issueIdOrKey);
                var transition = AvailableTransitions(issue).FirstOrDefault(t => t.Id == id)
                    ?? throw new BadVendorRequestException(400, $"Transition id '{id}' is not valid for this issue.");
                issue.MoveTo(transition.To);
                context.Response.StatusCode = 204;
                return Task.CompletedTask;
            }
        });
    }

    private Task CreateIssue(HttpContext context)
    {
        var body = JsonBody(context);
        var fields = body["fields"] as JsonObject ?? new JsonObject();
        var errors = new JsonObject();
        var projectRef = fields["project"] as JsonObject;
        var projectKey = Text(projectRef?["key"]);
        var projectId = Text(projectRef?["id"]);
        var summary = Text(fields["summary"]);
        var issueTypeRef = fields["issuetype"] as JsonObject;
        var issueTypeName = Text(issueTypeRef?["name"]);
        var issueTypeId = Text(issueTypeRef?["id"]);
        var labels = new List<string>();
        string? parentKey = null;
        lock (_lock)
        {
            var project = _projects.Values.FirstOrDefault(p =>
                (projectKey is not null && string.Equals(p.Key, projectKey, StringComparison.OrdinalIgnoreCase)) || (projectId is not null && p.Id == projectId));
            if (project is null)
            {
                errors["project"] = "Specify a valid project ID or key";
            }

            if (string.IsNullOrWhiteSpace(summary))
            {
                errors["summary"] = "You must specify a summary of the issue.";
            }
            else if (summary.Length > 255 || summary.Contains('\n', StringComparison.Ordinal))
            {
                errors["summary"] = "Summary must be less than 255 characters and on one line.";
            }

            string? issueType = null;
            if (issueTypeName is null && issueTypeId is null)
            {
                errors["issuetype"] = "Specify an issue type";
            }
            else if (project is not null)
            {
                issueType = FakeJiraProject.IssueTypes.FirstOrDefault(t => string.Equals(t.Name, issueTypeName, StringComparison.Ordinal) || t.Id == issueTypeId).Name;
                if (issueType is null)
                {
                    errors["issuetype"] = "Specify a valid issue type";
                }
            }

            if (fields["description"] is { } description)
            {
                if (description is not JsonObject doc || !IsDocument(doc))
                {
                    errors["description"] = "Operation value must be an Atlassian Document (see the Atlassian Document Format)";
                }
            }

            if (fields["labels"] is { } labelsNode)
            {
                foreach (var label in labelsNode as JsonArray ?? [])
                {
                    var text = Text(label);
                    if (text is null || text.Length == 0 || text.Any(char.IsWhiteSpace))
                    {
                        errors["labels"] = $"The label '{text}' contains spaces which is invalid.";
                    }
                    else
                    {
                        labels.Add(text);
                    }
                }
            }

            if (fields["parent"] is JsonObject parent)
            {
                parentKey = Text(parent["key"]);
                if (parentKey is null || Issue(parentKey) is null)
                {
                    errors["parent"] = "Could not find issue by id or key.";
                }
            }

            if (errors.Count > 0)
            {
                return WriteJsonAsync(context, 400, new JsonObject { ["errorMessages"] = new JsonArray(), ["errors"] = errors });
            }

            var properties = Properties(body);
            var issue = NewIssue(project!, summary!, fields["description"]?.DeepClone() as JsonObject, issueType!, Statuses[0], labels, parentKey);
            foreach (var (key, value) in properties)
            {
                issue.PropertiesMutable[key] = value;
            }

            return WriteJsonAsync(context, 201, new JsonObject { ["id"] = issue.Id, ["key"] = issue.Key, ["self"] = Self(context, "rest/api/3/issue/" + issue.Id) });
        }
    }

    private Task Search(HttpContext context)
    {
        var body = JsonBody(context);
        var jql = Text(body["jql"]);
        if (string.IsNullOrWhiteSpace(jql))
        {
            throw new BadVendorRequestException(400, "The 'jql' is required: unbounded JQL queries are not allowed here.");
        }

        var maxResults = body["maxResults"] is JsonValue m && m.TryGetValue<int>(out var max) ? Math.Clamp(max, 1, 5000) : 50;
        var fields = body["fields"] is JsonArray list ? list.Select(Text).OfType<string>().ToList() : ["id"];
        var offset = 0;
        if (Text(body["nextPageToken"]) is { Length: > 0 } token)
        {
            offset = DecodeToken(token, jql);
        }

        var filter = JqlFilter.Parse(jql);
        lock (_lock)
        {
            var matches = _issues.Where(filter.Matches).ToList();
            var page = matches.Skip(offset).Take(maxResults).ToList();
            var isLast = offset + page.Count >= matches.Count;
            var result = new JsonObject
            {
                ["issues"] = new JsonArray(page.Select(i => (JsonNode)IssueJson(context, i, fields)).ToArray()),
                ["isLast"] = isLast,
            };
            if (!isLast)
            {
                result["nextPageToken"] = EncodeToken(offset + page.Count, jql);
            }

            return WriteJsonAsync(context, 200, result);
        }
    }

    private FakeJiraIssue NewIssue(FakeJiraProject project, string summary, JsonObject? description, string issueType, string status, IEnumerable<string> labels, string? parentKey)
    {
        var number = _issues.Count(i => i.ProjectKey == project.Key) + 1;
        var issue = new FakeJiraIssue((++_nextIssueId).ToString(CultureInfo.InvariantCulture), $"{project.Key}-{number}", project.Key, summary,
            description, issueType, status, labels.ToList(), parentKey);
        _issues.Add(issue);
        return issue;
    }

    private string NextCommentId() => (++_nextCommentId).ToString(CultureInfo.InvariantCulture);

    private FakeJiraIssue FindIssue(string idOrKey) =>
        _issues.FirstOrDefault(i => string.Equals(i.Key, idOrKey, StringComparison.OrdinalIgnoreCase) || i.Id == idOrKey)
        ?? throw new BadVendorRequestException(404, "Issue does not exist or you do not have permission to see it.");

    private IEnumerable<FakeJiraTransition> AvailableTransitions(FakeJiraIssue issue) =>
        (_workflow.Count == 0 ? DefaultWorkflow : _workflow).Where(t => t.From is null || string.Equals(t.From, issue.Status, StringComparison.OrdinalIgnoreCase));

    private static JsonObject IssueJson(HttpContext context, FakeJiraIssue issue, IReadOnlyCollection<string>? fields)
    {
        bool Wants(string field) => fields is null || fields.Contains(field) || fields.Contains("*all") || fields.Contains("*navigable");
        var json = new JsonObject { ["id"] = issue.Id, ["key"] = issue.Key, ["self"] = Self(context, "rest/api/3/issue/" + issue.Id) };
        var f = new JsonObject();
        if (Wants("summary"))
        {
            f["summary"] = issue.Summary;
        }

        if (Wants("description"))
        {
            f["description"] = issue.Description?.DeepClone();
        }

        if (Wants("status"))
        {
            f["status"] = StatusJson(context, issue.Status);
        }

        if (Wants("issuetype"))
        {
            var type = FakeJiraProject.IssueTypes.First(t => t.Name == issue.IssueType);
            f["issuetype"] = new JsonObject { ["id"] = type.Id, ["name"] = type.Name, ["subtask"] = type.Name == "Subtask", ["hierarchyLevel"] = type.Name == "Epic" ? 1 : 0 };
        }

        if (Wants("project"))
        {
            f["project"] = new JsonObject { ["id"] = ProjectId(issue.ProjectKey), ["key"] = issue.ProjectKey };
        }

        if (Wants("labels"))
        {
            f["labels"] = new JsonArray(issue.Labels.Select(l => (JsonNode)l).ToArray());
        }

        if (Wants("parent") && issue.ParentKey is not null)
        {
            f["parent"] = new JsonObject { ["key"] = issue.ParentKey };
        }

        if (f.Count > 0)
        {
            json["fields"] = f;
        }

        return json;
    }

    private static string ProjectId(string key) => key.Length.ToString(CultureInfo.InvariantCulture); // opaque; tests use keys

    private static JsonObject StatusJson(HttpContext context, string name)
    {
        var index = Statuses.ToList().FindIndex(s => string.Equals(s, name, StringComparison.OrdinalIgnoreCase));
        var id = (index < 0 ? 9999 : 10000 + index).ToString(CultureInfo.InvariantCulture);
        var category = index switch { 0 => "new", 3 => "done", _ => "indeterminate" };
        return new JsonObject
        {
            ["self"] = Self(context, "rest/api/3/status/" + id),
            ["id"] = id,
            ["name"] = name,
            ["statusCategory"] = new JsonObject { ["key"] = category },
        };
    }

    private static JsonObject CommentJson(HttpContext context, FakeJiraIssue issue, FakeJiraComment comment, bool expandProperties)
    {
        var json = new JsonObject
        {
            ["self"] = Self(context, $"rest/api/3/issue/{issue.Id}/comment/{comment.Id}"),
            ["id"] = comment.Id,
            ["author"] = new JsonObject { ["accountId"] = AccountId, ["displayName"] = DisplayName },
            ["body"] = comment.Body.DeepClone(),
            ["created"] = comment.Created.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'+0000'", CultureInfo.InvariantCulture),
        };
        if (expandProperties)
        {
            json["properties"] = new JsonArray(comment.PropertiesMutable.Select(p => (JsonNode)new JsonObject { ["key"] = p.Key, ["value"] = p.Value.DeepClone() }).ToArray());
        }

        return json;
    }

    private static Dictionary<string, JsonNode> Properties(JsonObject body)
    {
        var properties = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
        if (body["properties"] is null)
        {
            return properties;
        }

        if (body["properties"] is not JsonArray list)
        {
            throw new BadVendorRequestException(400, "'properties' must be an array of {key, value}.");
        }

        foreach (var item in list)
        {
            var key = Text(item?["key"]);
            var value = item?["value"];
            if (string.IsNullOrEmpty(key) || value is null)
            {
                throw new BadVendorRequestException(400, "Each property needs a 'key' and a 'value'.");
            }

            properties[key] = value.DeepClone();
        }

        return properties;
    }

    private static void RequireDocument(JsonObject doc, string field)
    {
        if (!IsDocument(doc))
        {
            throw new BadVendorRequestException(400, $"'{field}' must be an Atlassian Document ({{\"type\":\"doc\",\"version\":1,\"content\":[…]}}).");
        }
    }

    /// <summary>A <c>doc</c> of version 1 whose content is an array and has no empty text node anywhere.</summary>
    private static bool IsDocument(JsonObject doc) =>
        Text(doc["type"]) == "doc" && doc["version"] is JsonValue v && v.TryGetValue<int>(out var version) && version == 1
        && doc["content"] is JsonArray && NoEmptyText(doc);

    private static bool NoEmptyText(JsonNode? node) => node switch
    {
        JsonObject obj when Text(obj["type"]) == "text" => Text(obj["text"]) is { Length: > 0 },
        JsonObject obj => obj["content"] is not JsonArray children || children.All(NoEmptyText),
        _ => true,
    };

    private static JsonObject ParagraphDoc(string text) => new()
    {
        ["type"] = "doc",
        ["version"] = 1,
        ["content"] = new JsonArray(new JsonObject { ["type"] = "paragraph", ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = text }) }),
    };

    private static List<string>? FieldList(string fields) =>
        string.IsNullOrWhiteSpace(fields) ? null : fields.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

    private static string Self(HttpContext context, string path) => $"{context.Request.Scheme}://{context.Request.Host}/{path}";

    private static string EncodeToken(int offset, string jql) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{offset}|{jql.GetHashCode(StringComparison.Ordinal)}"));

    private static int DecodeToken(string token, string jql)
    {
        try
        {
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(token)).Split('|');
            if (parts.Length == 2 && int.TryParse(parts[0], CultureInfo.InvariantCulture, out var offset)
                && parts[1] == jql.GetHashCode(StringComparison.Ordinal).ToString(CultureInfo.InvariantCulture))
            {
                return offset;
            }
        }
        catch (FormatException)
        {
        }

        throw new BadVendorRequestException(400, "The nextPageToken is invalid or belongs to another query.");
    }

    internal static string? Text(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    /// <summary>The fake's JQL: clauses joined by AND (case-insensitive keywords); ORDER BY ignored.</summary>
    private sealed class JqlFilter
    {
        private readonly List<Func<FakeJiraIssue, bool>> _clauses = [];

        public bool Matches(FakeJiraIssue issue) => _clauses.All(c => c(issue));

        public static JqlFilter Parse(string jql)
        {
            var tokens = Tokenize(jql);
            var filter = new JqlFilter();
            var i = 0;
            while (i < tokens.Count)
            {
                if (tokens[i].Is("ORDER"))
                {
                    break;
                }

                if (filter._clauses.Count > 0)
                {
                    if (!tokens[i].Is("AND"))
                    {
                        throw Error($"expected AND or ORDER BY at '{tokens[i].Value}'");
                    }

                    i++;
                }

                var field = Take(tokens, ref i).Value.ToLowerInvariant();
                var op = Take(tokens, ref i);
                if (op.Is("in"))
                {
                    if (field != "project")
                    {
                        throw Error($"'in' is supported for project only (got {field})");
                    }

                    Expect(tokens, ref i, "(");
                    var values = new List<string>();
                    while (true)
                    {
                        values.Add(Take(tokens, ref i).Value);
                        var next = Take(tokens, ref i);
                        if (next.Value == ")" && !next.Quoted)
                        {
                            break;
                        }

                        if (next.Value != "," || next.Quoted)
                        {
                            throw Error("expected , or ) in the project list");
                        }
                    }

                    filter._clauses.Add(issue => values.Contains(issue.ProjectKey, StringComparer.OrdinalIgnoreCase));
                    continue;
                }

                var value = Take(tokens, ref i).Value;
                Func<FakeJiraIssue, bool> clause = (field, op.Value) switch
                {
                    ("project", "=") => issue => string.Equals(issue.ProjectKey, value, StringComparison.OrdinalIgnoreCase),
                    ("labels", "=") => issue => issue.Labels.Contains(value, StringComparer.OrdinalIgnoreCase),
                    ("status", "=") => issue => string.Equals(issue.Status, value, StringComparison.OrdinalIgnoreCase),
                    ("key" or "issuekey", "=") => issue => string.Equals(issue.Key, value, StringComparison.OrdinalIgnoreCase),
                    ("summary", "~") => issue => Words(value).All(w => Words(issue.Summary).Contains(w, StringComparer.OrdinalIgnoreCase)),
                    _ => throw Error($"the field '{field}' with operator '{op.Value}' is not supported by this fake"),
                };
                filter._clauses.Add(clause);
            }

            return filter;
        }

        private static string[] Words(string text) =>
            text.Split(text.Where(c => !char.IsLetterOrDigit(c)).Distinct().ToArray(), StringSplitOptions.RemoveEmptyEntries);

        private static Token Take(List<Token> tokens, ref int i) =>
            i < tokens.Count ? tokens[i++] : throw Error("the query ends too early");

        private static void Expect(List<Token> tokens, ref int i, string value)
        {
            var token = Take(tokens, ref i);
            if (token.Value != value || token.Quoted)
            {
                throw Error($"expected '{value}' at '{token.Value}'");
            }
        }

        private static BadVendorRequestException Error(string message) => new(400, "Error in the JQL Query: " + message);

        private static List<Token> Tokenize(string jql)
        {
            var tokens = new List<Token>();
            var i = 0;
            while (i < jql.Length)
            {
                var c = jql[i];
                if (char.IsWhiteSpace(c))
                {
                    i++;
                }
                else if (c is '"' or '\'')
                {
                    var builder = new StringBuilder();
                    for (i++; i < jql.Length && jql[i] != c; i++)
                    {
                        if (jql[i] == '\\' && i + 1 < jql.Length)
                        {
                            i++;
                        }

                        builder.Append(jql[i]);
                    }

                    if (i >= jql.Length)
                    {
                        throw Error("unterminated string");
                    }

                    i++;
                    tokens.Add(new Token(builder.ToString(), true));
                }
                else if (c is '(' or ')' or ',' or '=' or '~')
                {
                    tokens.Add(new Token(c.ToString(), false));
                    i++;
                }
                else
                {
                    var start = i;
                    while (i < jql.Length && !char.IsWhiteSpace(jql[i]) && jql[i] is not ('(' or ')' or ',' or '=' or '~' or '"' or '\''))
                    {
                        i++;
                    }

                    tokens.Add(new Token(jql[start..i], false));
                }
            }

            return tokens;
        }

        private readonly record struct Token(string Value, bool Quoted)
        {
            public bool Is(string keyword) => !Quoted && string.Equals(Value, keyword, StringComparison.OrdinalIgnoreCase);
        }
    }
}

/// <summary>A project of the fake site.</summary>
public sealed record FakeJiraProject(string Key, string Id, string Name)
{
    public static IReadOnlyList<(string Id, string Name)> IssueTypes { get; } =
        [("10001", "Task"), ("10002", "Epic"), ("10003", "Story"), ("10004", "Bug"), ("10005", "Subtask")];
}

/// <summary>A workflow transition: <see cref="From"/> null means available from any status (a global transition).</summary>
public sealed record FakeJiraTransition(string Id, string Name, string? From, string To);

/// <summary>An issue of the fake site; read its state in tests (the server mutates it under its lock).</summary>
public sealed class FakeJiraIssue
{
    private readonly List<string> _statusHistory;

    internal FakeJiraIssue(string id, string key, string projectKey, string summary, JsonObject? description, string issueType, string status,
        List<string> labels, string? parentKey)
    {
        Id = id;
        Key = key;
        ProjectKey = projectKey;
        Summary = summary;
        Description = description;
        IssueType = issueType;
        Status = status;
        Labels = labels;
        ParentKey = parentKey;
        _statusHistory = [status];
    }

    public string Id { get; }
    public string Key { get; }
    public string ProjectKey { get; }
    public string Summary { get; }

    /// <summary>The description as sent (ADF), or null.</summary>
    public JsonObject? Description { get; }
    public string IssueType { get; }
    public string Status { get; private set; }
    public IReadOnlyList<string> Labels { get; }
    public string? ParentKey { get; }

    /// <summary>Every status the issue has been in, oldest first (starting with its initial status).</summary>
    public IReadOnlyList<string> StatusHistory
    {
        get
        {
            lock (_statusHistory)
            {
                return _statusHistory.ToArray();
            }
        }
    }

    /// <summary>The issue's entity properties (a snapshot).</summary>
    public IReadOnlyDictionary<string, JsonNode> Properties
    {
        get
        {
            lock (PropertiesMutable)
            {
                return PropertiesMutable.ToDictionary(p => p.Key, p => p.Value.DeepClone());
            }
        }
    }

    /// <summary>The comments, oldest first (a snapshot).</summary>
    public IReadOnlyList<FakeJiraComment> Comments
    {
        get
        {
            lock (CommentsMutable)
            {
                return CommentsMutable.ToArray();
            }
        }
    }

    internal Dictionary<string, JsonNode> PropertiesMutable { get; } = new(StringComparer.Ordinal);

    internal List<FakeJiraComment> CommentsMutable { get; } = [];

    internal FakeJiraComment AddComment(string id, JsonObject body, IReadOnlyDictionary<string, JsonNode> properties)
    {
        var comment = new FakeJiraComment(id, body, DateTimeOffset.UtcNow, properties.ToDictionary(p => p.Key, p => p.Value.DeepClone(), StringComparer.Ordinal));
        lock (CommentsMutable)
        {
            CommentsMutable.Add(comment);
        }

        return comment;
    }

    internal void MoveTo(string status)
    {
        Status = status;
        lock (_statusHistory)
        {
            _statusHistory.Add(status);
        }
    }
}

/// <summary>A comment: its id, ADF body, creation time and entity properties.</summary>
public sealed class FakeJiraComment(string id, JsonObject body, DateTimeOffset created, Dictionary<string, JsonNode> properties)
{
    public string Id { get; } = id;
    public JsonObject Body { get; } = body;
    public DateTimeOffset Created { get; } = created;

    /// <summary>The comment's entity properties.</summary>
    public IReadOnlyDictionary<string, JsonNode> Properties => PropertiesMutable;

    internal Dictionary<string, JsonNode> PropertiesMutable { get; } = properties;
}
