using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DevOrchestrator.FakeVendors;

/// <summary>
/// A fake GitHub Enterprise Server: the REST routes the GitHub plugin uses under <c>/api/v3/</c> (so
/// <c>GITHUB_API_URL = {BaseUrl}api/v3</c>), and git's smart HTTP protocol for the same repositories at
/// <c>/{owner}/{repo}.git/…</c>, served by the real <c>git http-backend</c> over bare repositories in
/// <see cref="GitRoot"/>. Branches live only in those bare repositories (the REST routes read and write them with
/// git), so a branch pushed with git is visible to the API and the other way round. Issues, pull requests and
/// comments are kept in memory.
/// <para>
/// REST requests must carry <c>Authorization: token {Token}</c> or <c>Bearer {Token}</c> (scheme in any case) (401 <c>Bad credentials</c>
/// otherwise); git requests <c>Authorization: Basic base64("x-access-token:{Token}")</c> (401 with
/// <c>WWW-Authenticate: Basic realm="GitHub"</c> otherwise). Refused requests are recorded like all others.
/// </para>
/// </summary>
public sealed partial class FakeGitHubServer : FakeVendorServer
{
    private const string ApiPrefix = "/api/v3";
    private const string DocumentationUrl = "https://docs.github.com/rest";

    private readonly Lock _lock = new();
    private readonly Dictionary<string, RepositoryState> _repositories = new(StringComparer.OrdinalIgnoreCase);
    private long _nextId = 1000;

    public FakeGitHubServer(string gitRoot, string token, string login = "devorch-bot")
    {
        ArgumentException.ThrowIfNullOrEmpty(gitRoot);
        ArgumentException.ThrowIfNullOrEmpty(token);
        ArgumentException.ThrowIfNullOrEmpty(login);
        GitRoot = Path.GetFullPath(gitRoot);
        Directory.CreateDirectory(GitRoot);
        Token = token;
        Login = login;
    }

    /// <summary>The directory of bare repositories (<c>{owner}/{repo}.git</c>); the test owns it and deletes it.</summary>
    public string GitRoot { get; }

    /// <summary>The one token the server accepts.</summary>
    public string Token { get; }

    /// <summary>The login of the token's user (<c>GET /user</c>, the author of comments and pull requests).</summary>
    public string Login { get; }

    /// <summary>The API root for <c>GITHUB_API_URL</c> (<c>http://127.0.0.1:port/api/v3</c>).</summary>
    public Uri ApiUrl => new(BaseUrl, "api/v3");

    /// <summary>What <c>GET /rate_limit</c> reports as remaining core requests.</summary>
    public int RateLimitRemaining { get; set; } = 4999;

    /// <summary>Starts a server over <paramref name="gitRoot"/>; the token is random unless given.</summary>
    public static async Task<FakeGitHubServer> StartAsync(string gitRoot, string? token = null, CancellationToken cancellationToken = default)
    {
        var server = new FakeGitHubServer(gitRoot, token ?? "fake-github-token-" + Guid.NewGuid().ToString("N")[..16]);
        await server.StartAsync(cancellationToken);
        return server;
    }

    /// <summary>The repository's clone URL (<c>http://127.0.0.1:port/{owner}/{name}.git</c>).</summary>
    public string CloneUrl(string owner, string name) => new Uri(BaseUrl, $"{owner}/{name}.git").ToString();

    /// <summary>The repository's web address (<c>http://127.0.0.1:port/{owner}/{name}</c>).</summary>
    public string WebUrl(string owner, string name) => new Uri(BaseUrl, $"{owner}/{name}").ToString();

    /// <summary>Adds an issue (issues and pull requests share the numbers, as on GitHub) and returns its number.</summary>
    public int AddIssue(string owner, string name, string title, string? body = null)
    {
        lock (_lock)
        {
            var repository = Repository(owner, name) ?? throw new InvalidOperationException($"no repository {owner}/{name}");
            var issue = new IssueState(repository.NextNumber++, title, body, DateTimeOffset.UtcNow);
            repository.Issues.Add(issue);
            return issue.Number;
        }
    }

    /// <summary>Adds a comment by another user (to fill pages) and returns its id.</summary>
    public long AddComment(string owner, string name, int number, string body, string user = "octocat")
    {
        lock (_lock)
        {
            var repository = Repository(owner, name) ?? throw new InvalidOperationException($"no repository {owner}/{name}");
            if (!repository.HasNumber(number))
            {
                throw new InvalidOperationException($"no issue or pull request #{number} in {owner}/{name}");
            }

            var comment = new CommentState(_nextId++, number, body, user, DateTimeOffset.UtcNow);
            repository.Comments.Add(comment);
            return comment.Id;
        }
    }

    /// <summary>The repository's pull requests, open and closed, in number order.</summary>
    public IReadOnlyList<FakeGitHubPullRequest> PullRequests(string owner, string name)
    {
        lock (_lock)
        {
            return Repository(owner, name)?.Pulls.Select(p => p.Snapshot()).ToArray() ?? [];
        }
    }

    /// <summary>The comments on one issue or pull request, oldest first.</summary>
    public IReadOnlyList<FakeGitHubComment> Comments(string owner, string name, int number)
    {
        lock (_lock)
        {
            return Repository(owner, name)?.Comments.Where(c => c.IssueNumber == number)
                .Select(c => new FakeGitHubComment(c.Id, c.IssueNumber, c.Body, c.User)).ToArray() ?? [];
        }
    }

    protected override string? Authenticate(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (IsGitPath(request.Path))
        {
            var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("x-access-token:" + Token));
            return string.Equals(header, expected, StringComparison.Ordinal) ? null
                : header.Length == 0 ? "Authentication required."
                : "Invalid username or token. Password authentication is not supported for Git operations.";
        }

        // The scheme is case-insensitive (Octokit sends "Token"); the credential must match exactly.
        var space = header.IndexOf(' ', StringComparison.Ordinal);
        var scheme = space < 0 ? header : header[..space];
        var credential = space < 0 ? "" : header[(space + 1)..];
        return (scheme.Equals("token", StringComparison.OrdinalIgnoreCase) || scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
            && string.Equals(credential, Token, StringComparison.Ordinal)
            ? null
            : header.Length == 0 ? "Requires authentication" : "Bad credentials";
    }

    protected override Task WriteErrorAsync(HttpContext context, int statusCode, string message)
    {
        if (IsGitPath(context.Request.Path))
        {
            // What git sees from github.com: a plain-text body, and a Basic challenge on 401.
            context.Response.StatusCode = statusCode;
            if (statusCode == StatusCodes.Status401Unauthorized)
            {
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"GitHub\"";
            }

            context.Response.ContentType = "text/plain; charset=utf-8";
            return context.Response.WriteAsync(message + "\n", context.RequestAborted);
        }

        // GitHub's basic-error shape.
        return WriteJsonAsync(context, statusCode, new JsonObject
        {
            ["message"] = message,
            ["documentation_url"] = DocumentationUrl,
            ["status"] = statusCode.ToString(CultureInfo.InvariantCulture),
        });
    }

    protected override void MapRoutes(WebApplication app)
    {
        MapGitRoutes(app);
        var api = app.MapGroup(ApiPrefix);
        api.MapGet("/user", context => WriteJsonAsync(context, 200, UserJson(Login)));
        api.MapGet("/rate_limit", GetRateLimitAsync);
        api.MapGet("/repos/{owner}/{repo}", GetRepositoryAsync);
        api.MapGet("/repos/{owner}/{repo}/git/ref/{**ref}", GetReferenceAsync);
        api.MapPost("/repos/{owner}/{repo}/git/refs", CreateReferenceAsync);
        api.MapGet("/repos/{owner}/{repo}/pulls", ListPullRequestsAsync);
        api.MapPost("/repos/{owner}/{repo}/pulls", CreatePullRequestAsync);
        api.MapGet("/repos/{owner}/{repo}/pulls/{number:int}", GetPullRequestAsync);
        api.MapMethods("/repos/{owner}/{repo}/pulls/{number:int}", ["PATCH"], UpdatePullRequestAsync);
        api.MapGet("/repos/{owner}/{repo}/issues/{number:int}/comments", ListCommentsAsync);
        api.MapPost("/repos/{owner}/{repo}/issues/{number:int}/comments", CreateCommentAsync);
    }

    private static bool IsGitPath(PathString path) => !path.StartsWithSegments(ApiPrefix, StringComparison.Ordinal);

    private Task GetRateLimitAsync(HttpContext context)
    {
        var reset = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        JsonObject Core() => new() { ["limit"] = 5000, ["remaining"] = RateLimitRemaining, ["reset"] = reset, ["used"] = 5000 - RateLimitRemaining };
        JsonObject Search() => new() { ["limit"] = 30, ["remaining"] = 30, ["reset"] = reset, ["used"] = 0 };
        return WriteJsonAsync(context, 200, new JsonObject
        {
            ["resources"] = new JsonObject { ["core"] = Core(), ["search"] = Search(), ["graphql"] = Core() },
            ["rate"] = Core(),
        });
    }

    private Task GetRepositoryAsync(HttpContext context)
    {
        var repository = RequireRepository(context);
        return WriteJsonAsync(context, 200, RepositoryJson(repository));
    }

    private async Task GetReferenceAsync(HttpContext context)
    {
        var repository = RequireRepository(context);
        var name = "refs/" + (string)context.GetRouteValue("ref")!;
        var sha = await ResolveAsync(repository, name, context.RequestAborted) ?? throw NotFound();
        await WriteJsonAsync(context, 200, ReferenceJson(repository, name, sha));
    }

    private async Task CreateReferenceAsync(HttpContext context)
    {
        var repository = RequireRepository(context);
        var body = GitHubJsonBody(context);
        RequireFields(body, "GitRef", "ref", "sha");
        var name = StringField(body, "ref")!;
        var sha = StringField(body, "sha")!;
        if (!name.StartsWith("refs/", StringComparison.Ordinal) || name.Count(c => c == '/') < 2 || !await IsValidRefNameAsync(name, context.RequestAborted))
        {
            throw new BadVendorRequestException(422, "Reference name is invalid");
        }

        if (!await CommitExistsAsync(repository, sha, context.RequestAborted))
        {
            throw new BadVendorRequestException(422, "Object does not exist");
        }

        if (!await CreateRefAsync(repository, name, sha, context.RequestAborted))
        {
            throw new BadVendorRequestException(422, "Reference already exists");
        }

        context.Response.Headers.Location = $"{ApiUrl}/repos/{repository.Owner}/{repository.Name}/git/refs/{name["refs/".Length..]}";
        await WriteJsonAsync(context, 201, ReferenceJson(repository, name, sha));
    }

    private async Task ListPullRequestsAsync(HttpContext context)
    {
        var repository = RequireRepository(context);
        var query = context.Request.Query;
        var state = query["state"].ToString() is { Length: > 0 } s ? s : "open";
        if (state is not ("open" or "closed" or "all"))
        {
            throw Validation("PullRequest", "state", "invalid");
        }

        string? headOwner = null, headBranch = null;
        if (query["head"].ToString() is { Length: > 0 } head)
        {
            var colon = head.IndexOf(':', StringComparison.Ordinal);
            (headOwner, headBranch) = colon < 0 ? (null, head) : (head[..colon], head[(colon + 1)..]);
        }

        var baseBranch = query["base"].ToString();
        var branches = await BranchesAsync(repository, context.RequestAborted);
        JsonArray list;
        lock (_lock)
        {
            var pulls = repository.Pulls
                .Where(p => state == "all" || p.State == state)
                .Where(p => headBranch is null || (p.Head == headBranch && (headOwner is null || string.Equals(headOwner, repository.Owner, StringComparison.OrdinalIgnoreCase))))
                .Where(p => baseBranch.Length == 0 || p.Base == baseBranch)
                .OrderByDescending(p => p.Number);
            list = new JsonArray(Page(context, pulls.ToList()).Select(p => (JsonNode)PullJson(repository, p, branches)).ToArray());
        }

        await WriteJsonAsync(context, 200, list);
    }

    private async Task CreatePullRequestAsync(HttpContext context)
    {
        var repository = RequireRepository(context);
        var body = GitHubJsonBody(context);
        RequireFields(body, "PullRequest", "head", "base");
        if (body["issue"] is null)
        {
            RequireFields(body, "PullRequest", "title");
        }

        var head = StringField(body, "head")!;
        if (head.IndexOf(':', StringComparison.Ordinal) is var colon and >= 0)
        {
            if (!string.Equals(head[..colon], repository.Owner, StringComparison.OrdinalIgnoreCase))
            {
                throw Validation("PullRequest", "head", "invalid");
            }

            head = head[(colon + 1)..];
        }

        var baseBranch = StringField(body, "base")!;
        var branches = await BranchesAsync(repository, context.RequestAborted);
        if (!branches.ContainsKey(head))
        {
            throw Validation("PullRequest", "head", "invalid");
        }

        if (!branches.ContainsKey(baseBranch))
        {
            throw Validation("PullRequest", "base", "invalid");
        }

        if (!await HasCommitsBetweenAsync(repository, baseBranch, head, context.RequestAborted))
        {
            throw Validation("PullRequest", null, "custom", $"No commits between {baseBranch} and {head}");
        }

        PullState pull;
        lock (_lock)
        {
            if (repository.Pulls.Any(p => p.State == "open" && p.Head == head))
            {
                throw Validation("PullRequest", null, "custom", $"A pull request already exists for {repository.Owner}:{head}.");
            }

            pull = new PullState(_nextId++, repository.NextNumber++, head, baseBranch, StringField(body, "title") ?? "", StringField(body, "body"),
                BoolField(body, "draft") ?? false, DateTimeOffset.UtcNow);
            repository.Pulls.Add(pull);
        }

        await WriteJsonAsync(context, 201, PullJson(repository, pull, branches));
    }

    private async Task GetPullRequestAsync(HttpContext context)
    {
        var repository = RequireRepository(context);
        var number = Number(context);
        var branches = await BranchesAsync(repository, context.RequestAborted);
        JsonObject json;
        lock (_lock)
        {
            json = PullJson(repository, repository.Pulls.FirstOrDefault(p => p.Number == number) ?? throw NotFound(), branches);
        }

        await WriteJsonAsync(context, 200, json);
    }

    private async Task UpdatePullRequestAsync(HttpContext context)
    {
        var repository = RequireRepository(context);
        var number = Number(context);
        var body = GitHubJsonBody(context);
        var title = StringField(body, "title");
        var text = StringField(body, "body");
        var state = StringField(body, "state");
        var baseBranch = StringField(body, "base");
        if (state is not (null or "open" or "closed"))
        {
            throw Validation("PullRequest", "state", "invalid");
        }

        var branches = await BranchesAsync(repository, context.RequestAborted);
        if (baseBranch is not null && !branches.ContainsKey(baseBranch))
        {
            throw Validation("PullRequest", "base", "invalid");
        }

        JsonObject json;
        lock (_lock)
        {
            var pull = repository.Pulls.FirstOrDefault(p => p.Number == number) ?? throw NotFound();
            pull.Title = title ?? pull.Title;
            pull.Body = body.ContainsKey("body") ? text : pull.Body;
            pull.State = state ?? pull.State;
            pull.Base = baseBranch ?? pull.Base;
            pull.UpdatedAt = DateTimeOffset.UtcNow;
            pull.Updates++;
            json = PullJson(repository, pull, branches);
        }

        await WriteJsonAsync(context, 200, json);
    }

    private Task ListCommentsAsync(HttpContext context)
    {
        var repository = RequireRepository(context);
        var number = Number(context);
        JsonArray list;
        lock (_lock)
        {
            if (!repository.HasNumber(number))
            {
                throw NotFound();
            }

            var comments = repository.Comments.Where(c => c.IssueNumber == number).ToList();
            list = new JsonArray(Page(context, comments).Select(c => (JsonNode)CommentJson(repository, c)).ToArray());
        }

        return WriteJsonAsync(context, 200, list);
    }

    private Task CreateCommentAsync(HttpContext context)
    {
        var repository = RequireRepository(context);
        var number = Number(context);
        var body = GitHubJsonBody(context);
        RequireFields(body, "IssueComment", "body");
        JsonObject json;
        lock (_lock)
        {
            if (!repository.HasNumber(number))
            {
                throw NotFound();
            }

            var comment = new CommentState(_nextId++, number, StringField(body, "body")!, Login, DateTimeOffset.UtcNow);
            repository.Comments.Add(comment);
            json = CommentJson(repository, comment);
        }

        return WriteJsonAsync(context, 201, json);
    }

    /// <summary>GitHub's paging: <c>per_page</c> (default 30, at most 100) and <c>page</c>, with a <c>Link</c> header.</summary>
    private IEnumerable<T> Page<T>(HttpContext context, IReadOnlyList<T> items)
    {
        var query = context.Request.Query;
        var perPage = int.TryParse(query["per_page"], CultureInfo.InvariantCulture, out var p) ? Math.Clamp(p, 1, 100) : 30;
        var page = int.TryParse(query["page"], CultureInfo.InvariantCulture, out var n) ? Math.Max(n, 1) : 1;
        var last = Math.Max(1, (items.Count + perPage - 1) / perPage);
        string Link(int target, string rel)
        {
            var parameters = query.Where(q => q.Key is not ("page" or "per_page")).Select(q => $"{q.Key}={Uri.EscapeDataString(q.Value.ToString())}")
                .Append($"per_page={perPage}").Append($"page={target}");
            return $"<{BaseUrl.GetLeftPart(UriPartial.Authority)}{context.Request.Path}?{string.Join('&', parameters)}>; rel=\"{rel}\"";
        }

        var links = new List<string>();
        if (page < last)
        {
            links.Add(Link(page + 1, "next"));
            links.Add(Link(last, "last"));
        }

        if (page > 1)
        {
            links.Add(Link(1, "first"));
            links.Add(Link(page - 1, "prev"));
        }

        if (links.Count > 0)
        {
            context.Response.Headers.Link = string.Join(", ", links);
        }

        return items.Skip((page - 1) * perPage).Take(perPage);
    }

    /// <summary>
    /// The request's JSON object. GitHub parses the body as JSON whatever its content type (Octokit's PATCH does not
    /// say JSON), and answers 400 "Problems parsing JSON" otherwise.
    /// </summary>
    private static JsonObject GitHubJsonBody(HttpContext context)
    {
        var recorded = Current(context);
        if (recorded.Json is JsonObject json)
        {
            return json;
        }

        if (recorded.Body.Length == 0)
        {
            return new JsonObject();
        }

        try
        {
            return JsonNode.Parse(recorded.Body) as JsonObject ?? throw new BadVendorRequestException(400, "Problems parsing JSON");
        }
        catch (System.Text.Json.JsonException)
        {
            throw new BadVendorRequestException(400, "Problems parsing JSON");
        }
    }

    private RepositoryState RequireRepository(HttpContext context)
    {
        lock (_lock)
        {
            return Repository((string)context.GetRouteValue("owner")!, (string)context.GetRouteValue("repo")!) ?? throw NotFound();
        }
    }

    private RepositoryState? Repository(string owner, string name) => _repositories.GetValueOrDefault($"{owner}/{name}");

    private static int Number(HttpContext context) => int.Parse((string)context.GetRouteValue("number")!, CultureInfo.InvariantCulture);

    private static BadVendorRequestException NotFound() => new(404, "Not Found");

    /// <summary>GitHub's 422 for a missing required field (<c>missing_field</c>).</summary>
    private static void RequireFields(JsonObject body, string resource, params string[] fields)
    {
        foreach (var field in fields)
        {
            if (body[field] is not JsonValue value || !value.TryGetValue<string>(out var text) || text.Length == 0)
            {
                throw Validation(resource, field, body[field] is null ? "missing_field" : "invalid");
            }
        }
    }

    private static string? StringField(JsonObject body, string field) => body[field] switch
    {
        null => null,
        JsonValue value when value.TryGetValue<string>(out var text) => text,
        _ => throw Validation("Field", field, "invalid"),
    };

    private static bool? BoolField(JsonObject body, string field) => body[field] switch
    {
        null => null,
        JsonValue value when value.TryGetValue<bool>(out var flag) => flag,
        _ => throw Validation("Field", field, "invalid"),
    };

    private static ValidationFailedException Validation(string resource, string? field, string code, string? message = null) => new(resource, field, code, message);

    private JsonObject UserJson(string login) => new()
    {
        ["login"] = login,
        ["id"] = Math.Abs(login.GetHashCode(StringComparison.Ordinal)) % 100_000,
        ["node_id"] = "U_" + login,
        ["type"] = "User",
        ["site_admin"] = false,
        ["url"] = $"{ApiUrl}/users/{login}",
        ["html_url"] = new Uri(BaseUrl, login).ToString(),
    };

    private JsonObject RepositoryJson(RepositoryState repository) => new()
    {
        ["id"] = repository.Id,
        ["node_id"] = "R_" + repository.Id,
        ["name"] = repository.Name,
        ["full_name"] = $"{repository.Owner}/{repository.Name}",
        ["owner"] = UserJson(repository.Owner),
        ["private"] = repository.Private,
        ["visibility"] = repository.Private ? "private" : "public",
        ["fork"] = false,
        ["archived"] = false,
        ["disabled"] = false,
        ["description"] = null,
        ["url"] = $"{ApiUrl}/repos/{repository.Owner}/{repository.Name}",
        ["html_url"] = WebUrl(repository.Owner, repository.Name),
        ["clone_url"] = CloneUrl(repository.Owner, repository.Name),
        ["git_url"] = $"git://{BaseUrl.Authority}/{repository.Owner}/{repository.Name}.git",
        ["ssh_url"] = $"git@{BaseUrl.Host}:{repository.Owner}/{repository.Name}.git",
        ["default_branch"] = repository.DefaultBranch,
    };

    private JsonObject ReferenceJson(RepositoryState repository, string name, string sha) => new()
    {
        ["ref"] = name,
        ["node_id"] = "REF_" + sha[..12],
        ["url"] = $"{ApiUrl}/repos/{repository.Owner}/{repository.Name}/git/{name}",
        ["object"] = new JsonObject
        {
            ["type"] = "commit",
            ["sha"] = sha,
            ["url"] = $"{ApiUrl}/repos/{repository.Owner}/{repository.Name}/git/commits/{sha}",
        },
    };

    private JsonObject PullJson(RepositoryState repository, PullState pull, IReadOnlyDictionary<string, string> branches)
    {
        var api = $"{ApiUrl}/repos/{repository.Owner}/{repository.Name}";
        JsonObject Side(string branch) => new()
        {
            ["label"] = $"{repository.Owner}:{branch}",
            ["ref"] = branch,
            ["sha"] = branches.GetValueOrDefault(branch, ""),
            ["user"] = UserJson(repository.Owner),
            ["repo"] = RepositoryJson(repository),
        };

        return new JsonObject
        {
            ["id"] = pull.Id,
            ["node_id"] = "PR_" + pull.Id,
            ["number"] = pull.Number,
            ["url"] = $"{api}/pulls/{pull.Number}",
            ["html_url"] = $"{WebUrl(repository.Owner, repository.Name)}/pull/{pull.Number}",
            ["issue_url"] = $"{api}/issues/{pull.Number}",
            ["comments_url"] = $"{api}/issues/{pull.Number}/comments",
            ["state"] = pull.State,
            ["locked"] = false,
            ["title"] = pull.Title,
            ["body"] = pull.Body,
            ["user"] = UserJson(Login),
            ["draft"] = pull.Draft,
            ["merged"] = false,
            ["head"] = Side(pull.Head),
            ["base"] = Side(pull.Base),
            ["created_at"] = pull.CreatedAt.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["updated_at"] = pull.UpdatedAt.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["closed_at"] = null,
            ["merged_at"] = null,
        };
    }

    private JsonObject CommentJson(RepositoryState repository, CommentState comment)
    {
        var api = $"{ApiUrl}/repos/{repository.Owner}/{repository.Name}";
        var kind = repository.Pulls.Any(p => p.Number == comment.IssueNumber) ? "pull" : "issues";
        return new JsonObject
        {
            ["id"] = comment.Id,
            ["node_id"] = "IC_" + comment.Id,
            ["url"] = $"{api}/issues/comments/{comment.Id}",
            ["html_url"] = $"{WebUrl(repository.Owner, repository.Name)}/{kind}/{comment.IssueNumber}#issuecomment-{comment.Id}",
            ["issue_url"] = $"{api}/issues/{comment.IssueNumber}",
            ["body"] = comment.Body,
            ["user"] = UserJson(comment.User),
            ["author_association"] = comment.User == Login ? "OWNER" : "NONE",
            ["created_at"] = comment.CreatedAt.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["updated_at"] = comment.CreatedAt.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        };
    }

    private sealed class RepositoryState(long id, string owner, string name, bool isPrivate, string defaultBranch, string barePath)
    {
        public long Id { get; } = id;
        public string Owner { get; } = owner;
        public string Name { get; } = name;
        public bool Private { get; } = isPrivate;
        public string DefaultBranch { get; } = defaultBranch;
        public string BarePath { get; } = barePath;
        public int NextNumber { get; set; } = 1;
        public List<IssueState> Issues { get; } = [];
        public List<PullState> Pulls { get; } = [];
        public List<CommentState> Comments { get; } = [];

        public bool HasNumber(int number) => Issues.Any(i => i.Number == number) || Pulls.Any(p => p.Number == number);
    }

    private sealed record IssueState(int Number, string Title, string? Body, DateTimeOffset CreatedAt);

    private sealed record CommentState(long Id, int IssueNumber, string Body, string User, DateTimeOffset CreatedAt);

    private sealed class PullState(long id, int number, string head, string baseBranch, string title, string? body, bool draft, DateTimeOffset createdAt)
    {
        public long Id { get; } = id;
        public int Number { get; } = number;
        public string Head { get; } = head;
        public string Base { get; set; } = baseBranch;
        public string Title { get; set; } = title;
        public string? Body { get; set; } = body;
        public string State { get; set; } = "open";
        public bool Draft { get; } = draft;
        public DateTimeOffset CreatedAt { get; } = createdAt;
        public DateTimeOffset UpdatedAt { get; set; } = createdAt;
        public int Updates { get; set; }

        public FakeGitHubPullRequest Snapshot() => new(Number, Head, Base, Title, Body, State, Draft, Updates);
    }

    /// <summary>GitHub's 422 <c>Validation Failed</c> with one entry in <c>errors</c>.</summary>
    private sealed class ValidationFailedException(string resource, string? field, string code, string? message)
        : Exception(message ?? $"{resource}.{field} {code}")
    {
        public JsonObject ToJson() => new()
        {
            ["message"] = "Validation Failed",
            ["errors"] = new JsonArray(new JsonObject
            {
                ["resource"] = resource,
                ["field"] = field,
                ["code"] = code,
                ["message"] = message,
            }),
            ["documentation_url"] = DocumentationUrl,
            ["status"] = "422",
        };
    }
}

/// <summary>A pull request as the fake holds it; <see cref="Updates"/> counts the PATCHes it received.</summary>
public sealed record FakeGitHubPullRequest(int Number, string Head, string Base, string Title, string? Body, string State, bool Draft, int Updates);

/// <summary>A comment on an issue or pull request.</summary>
public sealed record FakeGitHubComment(long Id, int IssueNumber, string Body, string User);
