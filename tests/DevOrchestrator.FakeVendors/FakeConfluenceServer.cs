using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace DevOrchestrator.FakeVendors;

/// <summary>
/// A fake Confluence Cloud REST API v2 under <c>/wiki/api/v2/</c> (so <c>CONFLUENCE_URL</c> is <see cref="SiteUrl"/>):
/// <c>GET /spaces</c>, <c>GET /pages</c>, <c>GET /pages/{id}</c>, <c>POST /pages</c>, <c>PUT /pages/{id}</c>, with
/// Basic authentication of exactly <see cref="Email"/>:<see cref="ApiToken"/> and errors in v2's shape
/// <c>{"errors":[{"status","code","title","detail"}]}</c>. It keeps spaces (added by tests) and pages with their
/// version history in memory, and refuses what Confluence refuses: missing required fields (400), a second current page
/// of the same title in a space (400), a version number that is not the current one plus one (409), an unknown space,
/// page or parent (404).
/// </summary>
public sealed class FakeConfluenceServer : FakeVendorServer
{
    public const string DefaultEmail = "docs-bot@example.test";
    public const string DefaultApiToken = "fake-confluence-token-for-tests";
    public const string ApiPrefix = "/wiki/api/v2";
    public const string AccountId = "557058:fake-docs-bot";
    public const string OtherAccountId = "557058:fake-someone-else";

    private readonly Lock _lock = new();
    private readonly List<SpaceState> _spaces = [];
    private readonly List<PageState> _pages = [];
    private readonly Dictionary<string, (string Body, string? Message, int Times)> _editsBeforeUpdates = new(StringComparer.Ordinal);
    private readonly List<(string SpaceKey, string Title, string Body)> _createsBeforeNextCreate = [];
    private long _nextSpaceId = 98_304;
    private long _nextPageId = 65_536;

    public FakeConfluenceServer(string email = DefaultEmail, string apiToken = DefaultApiToken)
    {
        Email = email;
        ApiToken = apiToken;
    }

    /// <summary>The account's e-mail address the server accepts.</summary>
    public string Email { get; }

    /// <summary>The API token the server accepts.</summary>
    public string ApiToken { get; }

    /// <summary>The exact <c>Authorization</c> header value the server accepts.</summary>
    public string ExpectedAuthorization => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Email}:{ApiToken}"));

    /// <summary>The site's wiki base, <c>http://127.0.0.1:port/wiki</c> (what <c>CONFLUENCE_URL</c> is set to).</summary>
    public string SiteUrl => new Uri(BaseUrl, "wiki").ToString();

    /// <summary>The spaces, in the order they were added.</summary>
    public IReadOnlyList<FakeConfluenceSpace> Spaces
    {
        get
        {
            lock (_lock)
            {
                return _spaces.Select(s => new FakeConfluenceSpace(s.Id, s.Key, s.Name)).ToArray();
            }
        }
    }

    /// <summary>The pages, in the order they were created, each with its version history.</summary>
    public IReadOnlyList<FakeConfluencePage> Pages
    {
        get
        {
            lock (_lock)
            {
                return _pages.Select(p => p.Snapshot()).ToArray();
            }
        }
    }

    public static async Task<FakeConfluenceServer> StartAsync(string email = DefaultEmail, string apiToken = DefaultApiToken, CancellationToken cancellationToken = default)
    {
        var server = new FakeConfluenceServer(email, apiToken);
        await server.StartAsync(cancellationToken);
        return server;
    }

    /// <summary>The page with this id, or null.</summary>
    public FakeConfluencePage? Page(string id)
    {
        lock (_lock)
        {
            return _pages.FirstOrDefault(p => p.Id == id)?.Snapshot();
        }
    }

    /// <summary>Adds a space and returns its id.</summary>
    public string AddSpace(string key, string? id = null, string? name = null)
    {
        lock (_lock)
        {
            var space = new SpaceState(id ?? (++_nextSpaceId).ToString(CultureInfo.InvariantCulture), key, name ?? key + " space");
            _spaces.Add(space);
            return space.Id;
        }
    }

    /// <summary>A page written by someone else (version 1), for tests that start from an existing page.</summary>
    public FakeConfluencePage AddPage(string spaceKey, string title, string body, string? parentId = null)
    {
        lock (_lock)
        {
            var space = _spaces.First(s => s.Key == spaceKey);
            var page = new PageState((++_nextPageId).ToString(CultureInfo.InvariantCulture), space.Id, parentId);
            page.Versions.Add(new FakeConfluencePageVersion(1, title, body, parentId, null, OtherAccountId, DateTimeOffset.UtcNow));
            _pages.Add(page);
            return page.Snapshot();
        }
    }

    /// <summary>Someone else saves the page with <paramref name="body"/> (the next version).</summary>
    public FakeConfluencePage EditPage(string pageId, string body, string? message = null)
    {
        lock (_lock)
        {
            var page = _pages.First(p => p.Id == pageId);
            page.Versions.Add(new FakeConfluencePageVersion(page.Version + 1, page.Title, body, page.ParentId, message, OtherAccountId, DateTimeOffset.UtcNow));
            return page.Snapshot();
        }
    }

    /// <summary>
    /// When each of the next <paramref name="times"/> <c>PUT /pages/{pageId}</c> requests arrives, someone else saves the
    /// page first (with <paramref name="body"/>), so that request's version number is stale and it is answered 409, as
    /// when two editors race.
    /// </summary>
    public void EditBeforeNextUpdate(string pageId, string body, string? message = null, int times = 1)
    {
        lock (_lock)
        {
            _editsBeforeUpdates[pageId] = (body, message, times);
        }
    }

    /// <summary>
    /// When the next <c>POST /pages</c> arrives, someone else creates a page titled <paramref name="title"/> in the
    /// space first, as when two writers race (that request then meets the duplicate-title refusal).
    /// </summary>
    public void CreateBeforeNextCreate(string spaceKey, string title, string body)
    {
        lock (_lock)
        {
            _createsBeforeNextCreate.Add((spaceKey, title, body));
        }
    }

    protected override string? Authenticate(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            return "Basic authentication is required (missing Authorization header)";
        }

        return string.Equals(header, ExpectedAuthorization, StringComparison.Ordinal)
            ? null
            : "Client must be authenticated to access this resource.";
    }

    protected override void MapRoutes(WebApplication app)
    {
        app.MapGet(ApiPrefix + "/spaces", (RequestDelegate)GetSpacesAsync);
        app.MapGet(ApiPrefix + "/pages", (RequestDelegate)GetPagesAsync);
        app.MapGet(ApiPrefix + "/pages/{id}", (RequestDelegate)GetPageAsync);
        app.MapPost(ApiPrefix + "/pages", (RequestDelegate)CreatePageAsync);
        app.MapPut(ApiPrefix + "/pages/{id}", (RequestDelegate)UpdatePageAsync);
    }

    protected override Task WriteErrorAsync(HttpContext context, int statusCode, string message) =>
        WriteJsonAsync(context, statusCode, new JsonObject
        {
            ["errors"] = new JsonArray(new JsonObject
            {
                ["status"] = statusCode,
                ["code"] = ErrorCode(statusCode),
                ["title"] = message,
                ["detail"] = null,
            }),
        });

    private Task GetSpacesAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var limit = Limit(query);
        var keys = Values(query["keys"]);
        var ids = Values(query["ids"]);
        ids.ForEach(id => ParseId(id, "ids"));
        JsonArray results;
        lock (_lock)
        {
            results = new JsonArray(_spaces
                .Where(s => keys.Count == 0 || keys.Contains(s.Key, StringComparer.Ordinal))
                .Where(s => ids.Count == 0 || ids.Contains(s.Id, StringComparer.Ordinal))
                .OrderBy(s => long.Parse(s.Id, CultureInfo.InvariantCulture))
                .Take(limit)
                .Select(s => (JsonNode)new JsonObject
                {
                    ["id"] = s.Id,
                    ["key"] = s.Key,
                    ["name"] = s.Name,
                    ["type"] = "global",
                    ["status"] = "current",
                    ["authorId"] = OtherAccountId,
                    ["_links"] = new JsonObject { ["webui"] = $"/spaces/{s.Key}" },
                })
                .ToArray());
        }

        return WriteJsonAsync(context, 200, new JsonObject { ["results"] = results, ["_links"] = new JsonObject { ["base"] = SiteUrl.TrimEnd('/') } });
    }

    private Task GetPagesAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var limit = Limit(query);
        var bodyFormat = BodyFormat(query, allowed: ["storage", "atlas_doc_format"]);
        var spaceIds = Values(query["space-id"]);
        spaceIds.ForEach(id => ParseId(id, "space-id"));
        var pageIds = Values(query["id"]);
        pageIds.ForEach(id => ParseId(id, "id"));
        var statuses = Values(query["status"]);
        if (statuses.Count == 0)
        {
            statuses = ["current", "archived"];
        }

        string? title = query.TryGetValue("title", out var t) ? t.ToString() : null;
        JsonArray results;
        lock (_lock)
        {
            results = new JsonArray(_pages
                .Where(p => spaceIds.Count == 0 || spaceIds.Contains(p.SpaceId, StringComparer.Ordinal))
                .Where(p => pageIds.Count == 0 || pageIds.Contains(p.Id, StringComparer.Ordinal))
                .Where(p => statuses.Contains(p.Status, StringComparer.Ordinal))
                .Where(p => title is null || string.Equals(p.Title, title, StringComparison.Ordinal))
                .Take(limit)
                .Select(p => (JsonNode)PageJson(p, bodyFormat, withBase: false))
                .ToArray());
        }

        return WriteJsonAsync(context, 200, new JsonObject { ["results"] = results, ["_links"] = new JsonObject { ["base"] = SiteUrl.TrimEnd('/') } });
    }

    private Task GetPageAsync(HttpContext context)
    {
        var id = (string)context.Request.RouteValues["id"]!;
        ParseId(id, "id");
        var bodyFormat = BodyFormat(context.Request.Query, allowed: ["storage", "atlas_doc_format", "view", "export_view", "anonymous_export_view", "styled_view", "editor"]);
        JsonObject json;
        lock (_lock)
        {
            var page = _pages.FirstOrDefault(p => p.Id == id) ?? throw new BadVendorRequestException(404, $"Page {id} not found");
            json = PageJson(page, bodyFormat, withBase: true);
        }

        return WriteJsonAsync(context, 200, json);
    }

    private Task CreatePageAsync(HttpContext context)
    {
        var body = JsonBody(context);
        Require(body, "spaceId");
        var status = Str(body["status"]) ?? "current";
        if (status is not ("current" or "draft"))
        {
            throw new BadVendorRequestException(400, $"Invalid status '{status}'; expected current or draft");
        }

        if (status == "current")
        {
            Require(body, "title");
        }

        Require(body, "body.representation", "body.value");
        var representation = Str(body["body"]!["representation"])!;
        CheckRepresentation(representation);
        var spaceId = Str(body["spaceId"])!;
        ParseId(spaceId, "spaceId");
        var title = Str(body["title"]) ?? "";
        CheckTitle(title);
        var parentId = Str(body["parentId"]);
        if (parentId is not null && bool.TryParse(context.Request.Query["root-level"].ToString(), out var rootLevel) && rootLevel)
        {
            throw new BadVendorRequestException(400, "parentId may not be supplied when root-level is true");
        }

        JsonObject json;
        lock (_lock)
        {
            foreach (var (spaceKey, otherTitle, otherBody) in _createsBeforeNextCreate)
            {
                var other = new PageState((++_nextPageId).ToString(CultureInfo.InvariantCulture), _spaces.First(s => s.Key == spaceKey).Id, null);
                other.Versions.Add(new FakeConfluencePageVersion(1, otherTitle, otherBody, null, null, OtherAccountId, DateTimeOffset.UtcNow));
                _pages.Add(other);
            }

            _createsBeforeNextCreate.Clear();
            if (!_spaces.Any(s => s.Id == spaceId))
            {
                throw new BadVendorRequestException(404, $"Space {spaceId} not found or not permitted");
            }

            CheckParent(spaceId, parentId, self: null);
            if (_pages.Any(p => p.SpaceId == spaceId && p.Status == "current" && string.Equals(p.Title, title, StringComparison.Ordinal)))
            {
                throw new BadVendorRequestException(400, "A page with this title already exists: A page already exists with the same TITLE in this space");
            }

            var page = new PageState((++_nextPageId).ToString(CultureInfo.InvariantCulture), spaceId, parentId) { Status = status, Representation = representation };
            page.Versions.Add(new FakeConfluencePageVersion(1, title, Str(body["body"]!["value"])!, parentId, null, AccountId, DateTimeOffset.UtcNow));
            _pages.Add(page);
            json = PageJson(page, representation == "storage" ? "storage" : null, withBase: true);
        }

        return WriteJsonAsync(context, 200, json);
    }

    private Task UpdatePageAsync(HttpContext context)
    {
        var id = (string)context.Request.RouteValues["id"]!;
        ParseId(id, "id");
        var body = JsonBody(context);
        Require(body, "id", "status", "title", "body", "version.number");
        Require(body, "body.representation", "body.value");
        if (Str(body["id"]) != id)
        {
            throw new BadVendorRequestException(400, $"The id in the body ({Str(body["id"])}) does not match the page id in the path ({id})");
        }

        var status = Str(body["status"])!;
        if (status is not ("current" or "draft"))
        {
            throw new BadVendorRequestException(400, $"Invalid status '{status}'; expected current or draft");
        }

        var representation = Str(body["body"]!["representation"])!;
        CheckRepresentation(representation);
        if (body["version"]!["number"] is not JsonValue numberNode || !numberNode.TryGetValue<int>(out var number))
        {
            throw new BadVendorRequestException(400, "'version.number' must be an integer");
        }

        var title = Str(body["title"])!;
        CheckTitle(title);
        var parentId = Str(body["parentId"]);
        JsonObject json;
        lock (_lock)
        {
            var page = _pages.FirstOrDefault(p => p.Id == id) ?? throw new BadVendorRequestException(404, $"Page {id} not found");
            if (_editsBeforeUpdates.Remove(id, out var edit))
            {
                if (edit.Times > 1)
                {
                    _editsBeforeUpdates[id] = edit with { Times = edit.Times - 1 };
                }

                page.Versions.Add(new FakeConfluencePageVersion(page.Version + 1, page.Title, edit.Body, page.ParentId, edit.Message, OtherAccountId, DateTimeOffset.UtcNow));
            }

            if (Str(body["spaceId"]) is { } spaceId && spaceId != page.SpaceId)
            {
                throw new BadVendorRequestException(400, "Moving a page to a different space is not supported");
            }

            if (number != page.Version + 1)
            {
                throw new BadVendorRequestException(409, $"Version must be incremented on update. Current version is: {page.Version}");
            }

            CheckParent(page.SpaceId, parentId, self: page.Id);
            if (_pages.Any(p => p != page && p.SpaceId == page.SpaceId && p.Status == "current" && string.Equals(p.Title, title, StringComparison.Ordinal)))
            {
                throw new BadVendorRequestException(400, "A page with this title already exists: A page already exists with the same TITLE in this space");
            }

            var newParent = parentId ?? page.ParentId;
            page.Status = status;
            page.Representation = representation;
            page.Versions.Add(new FakeConfluencePageVersion(number, title, Str(body["body"]!["value"])!, newParent, Str(body["version"]!["message"]), AccountId, DateTimeOffset.UtcNow));
            json = PageJson(page, representation == "storage" ? "storage" : null, withBase: true);
        }

        return WriteJsonAsync(context, 200, json);
    }

    private void CheckParent(string spaceId, string? parentId, string? self)
    {
        if (parentId is null)
        {
            return;
        }

        ParseId(parentId, "parentId");
        if (parentId == self || !_pages.Any(p => p.Id == parentId && p.SpaceId == spaceId && p.Status == "current"))
        {
            throw new BadVendorRequestException(404, $"Parent page {parentId} not found in the space or not permitted");
        }
    }

    private JsonObject PageJson(PageState page, string? bodyFormat, bool withBase)
    {
        var latest = page.Versions[^1];
        var space = _spaces.First(s => s.Id == page.SpaceId);
        var webui = $"/spaces/{space.Key}/pages/{page.Id}/{Uri.EscapeDataString(latest.Title).Replace("%20", "+", StringComparison.Ordinal)}";
        var links = new JsonObject
        {
            ["webui"] = webui,
            ["editui"] = $"/pages/resumedraft.action?draftId={page.Id}",
            ["tinyui"] = $"/x/{page.Id}",
        };
        if (withBase)
        {
            links["base"] = SiteUrl.TrimEnd('/');
        }

        var body = new JsonObject();
        if (bodyFormat == "storage" && page.Representation == "storage")
        {
            body["storage"] = new JsonObject { ["representation"] = "storage", ["value"] = latest.Body };
        }

        return new JsonObject
        {
            ["id"] = page.Id,
            ["status"] = page.Status,
            ["title"] = latest.Title,
            ["spaceId"] = page.SpaceId,
            ["parentId"] = latest.ParentId,
            ["parentType"] = latest.ParentId is null ? null : "page",
            ["position"] = null,
            ["authorId"] = page.Versions[0].AuthorId,
            ["ownerId"] = page.Versions[0].AuthorId,
            ["lastOwnerId"] = null,
            ["createdAt"] = page.Versions[0].CreatedAt.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            ["version"] = new JsonObject
            {
                ["createdAt"] = latest.CreatedAt.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                ["message"] = latest.Message ?? "",
                ["number"] = latest.Number,
                ["minorEdit"] = false,
                ["authorId"] = latest.AuthorId,
            },
            ["body"] = body,
            ["_links"] = links,
        };
    }

    private static int Limit(IQueryCollection query)
    {
        if (!query.TryGetValue("limit", out var raw))
        {
            return 25;
        }

        return int.TryParse(raw.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit is >= 1 and <= 250
            ? limit
            : throw new BadVendorRequestException(400, $"Provided value {{{raw}}} for 'limit' is not valid. Expected an integer between 1 and 250");
    }

    private static string? BodyFormat(IQueryCollection query, string[] allowed)
    {
        if (!query.TryGetValue("body-format", out var raw))
        {
            return null;
        }

        var value = raw.ToString();
        return allowed.Contains(value, StringComparer.Ordinal)
            ? value
            : throw new BadVendorRequestException(400, $"Provided value {{{value}}} for 'body-format' is not valid");
    }

    private static void CheckTitle(string title)
    {
        if (title.Length > 255)
        {
            throw new BadVendorRequestException(400, "Title cannot be longer than 255 characters.");
        }
    }

    private static void CheckRepresentation(string representation)
    {
        if (representation is not ("storage" or "atlas_doc_format" or "wiki"))
        {
            throw new BadVendorRequestException(400, $"Invalid body representation '{representation}'; expected storage, atlas_doc_format or wiki");
        }
    }

    private static void ParseId(string value, string name)
    {
        if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            throw new BadVendorRequestException(400, $"Provided value {{{value}}} for '{name}' is not the correct type. Expected type is ContentId");
        }
    }

    /// <summary>Array query parameters: comma-separated, possibly repeated.</summary>
    private static List<string> Values(StringValues values) =>
        values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();

    private static string? Str(JsonNode? node) => node is JsonValue value
        ? value.TryGetValue<string>(out var s) ? s : value.ToJsonString()
        : null;

    private static string ErrorCode(int statusCode) => statusCode switch
    {
        400 => "INVALID_REQUEST_PARAMETER",
        401 => "UNAUTHORIZED",
        403 => "FORBIDDEN",
        404 => "NOT_FOUND",
        409 => "CONFLICT",
        413 => "REQUEST_ENTITY_TOO_LARGE",
        429 => "TOO_MANY_REQUESTS",
        503 => "SERVICE_UNAVAILABLE",
        >= 500 => "INTERNAL_SERVER_ERROR",
        _ => "ERROR",
    };

    private sealed record SpaceState(string Id, string Key, string Name);

    private sealed class PageState(string id, string spaceId, string? parentId)
    {
        public string Id { get; } = id;
        public string SpaceId { get; } = spaceId;
        public string Status { get; set; } = "current";
        public string Representation { get; set; } = "storage";
        public List<FakeConfluencePageVersion> Versions { get; } = [];
        public string Title => Versions[^1].Title;
        public string? ParentId => Versions.Count == 0 ? parentId : Versions[^1].ParentId;
        public int Version => Versions[^1].Number;

        public FakeConfluencePage Snapshot() =>
            new(Id, SpaceId, Status, Title, ParentId, Versions[^1].Body, Version, Versions.ToArray());
    }
}

public sealed record FakeConfluenceSpace(string Id, string Key, string Name);

/// <summary>A page as the fake stores it: its latest title, parent, body and version, and every version.</summary>
public sealed record FakeConfluencePage(
    string Id, string SpaceId, string Status, string Title, string? ParentId, string Body, int Version, IReadOnlyList<FakeConfluencePageVersion> Versions);

/// <summary>One saved version of a page (who saved it: <see cref="FakeConfluenceServer.AccountId"/> for the API caller).</summary>
public sealed record FakeConfluencePageVersion(int Number, string Title, string Body, string? ParentId, string? Message, string AuthorId, DateTimeOffset CreatedAt);
