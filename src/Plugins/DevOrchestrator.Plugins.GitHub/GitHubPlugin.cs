using System.Globalization;
using System.Text;
using DevOrchestrator.Abstractions.Plugins;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Octokit;
using Octokit.Internal;
using Polly.CircuitBreaker;
using Polly.RateLimiting;
using Polly.Timeout;

namespace DevOrchestrator.Plugins.GitHub;

/// <summary>
/// GitHub (and GitHub Enterprise Server) as the code host: repositories, branches, pull requests and comments through
/// Octokit, whose requests go through the <c>github</c> HTTP client's handler chain (rate limit, retries, circuit
/// breaker); and git credentials for clone and push, passed per command as an <c>http.extraHeader</c>. Reads
/// <see cref="GitHubSettings"/> on every call, so a changed token or API URL applies to the next call.
/// </summary>
public sealed partial class GitHubPlugin : IVersionControlPlugin
{
    public const string PluginName = "github";
    public const string HttpClientName = "github";

    private const string AcceptJson = "application/vnd.github+json";
    private const int PageSize = 100;

    /// <summary>Enough for 5,000 comments on one issue; beyond that the search gives up (returns null).</summary>
    private const int MaxCommentPages = 50;

    private static readonly IReadOnlyList<PluginSetting> SettingList =
    [
        new("GITHUB_TOKEN", "Personal access token or GitHub App installation token (contents, pull requests and issues: read and write).", Required: true, Secret: true),
        new("GITHUB_API_URL", "REST API root; https://HOST/api/v3 for GitHub Enterprise Server.", Default: GitHubSettings.DefaultApiUrl),
        new("GITHUB_WEBHOOK_SECRET", "Secret of the webhook; deliveries are checked against X-Hub-Signature-256.", Secret: true),
        new("GITHUB_RATE_LIMIT_REQUESTS_PER_SECOND", "GitHub calls per second (overrides RATE_LIMIT_REQUESTS_PER_SECOND)."),
        new("GITHUB_INTAKE_LABEL", "The issue label that turns an issue into a task.", Default: GitHubSettings.DefaultIntakeLabel),
        new("GITHUB_COMMAND", "The comment command that asks for work on an issue or sends feedback on a pull request.", Default: GitHubSettings.DefaultCommand),
    ];

    private readonly IOptionsMonitor<GitHubSettings> _settings;
    private readonly IHttpMessageHandlerFactory _handlers;
    private readonly ILogger<GitHubPlugin> _logger;
    private readonly GitHubSettingsValidator _validator = new();
    private readonly Lock _lock = new();
    private GitHubApi? _api;

    public GitHubPlugin(IOptionsMonitor<GitHubSettings> settings, IHttpMessageHandlerFactory handlers, ILogger<GitHubPlugin> logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(handlers);
        ArgumentNullException.ThrowIfNull(logger);
        _settings = settings;
        _handlers = handlers;
        _logger = logger;
    }

    public string Type => PluginTypes.VersionControl;

    public string Name => PluginName;

    public string Description => "GitHub and GitHub Enterprise Server: branches, pull requests, comments, and git credentials for clone and push.";

    public IReadOnlyList<PluginSetting> Settings => SettingList;

    public bool IsConfigured => _settings.CurrentValue.IsConfigured;

    public IReadOnlyDictionary<string, string> Validate(IReadOnlyDictionary<string, string?> values) =>
        PluginSettingsBinding.Validate(values, _validator, SettingList);

    public async Task<PluginConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        var api = CurrentApi();
        var user = await CallAsync(api, "connect", () => api.Connection.Get<User>(new Uri("user", UriKind.Relative), null, AcceptJson, cancellationToken), cancellationToken);
        return new PluginConnection(user.Body.Login, new Dictionary<string, object> { ["api_url"] = api.BaseUri.ToString() });
    }

    public Task DisconnectAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            // Calls in flight keep the client they started with; the next call builds a new one.
            _api = null;
        }

        return Task.CompletedTask;
    }

    public async Task<PluginHealth> CheckHealthAsync(CancellationToken cancellationToken)
    {
        if (!IsConfigured)
        {
            return PluginHealth.Failed("not configured: GITHUB_TOKEN is not set");
        }

        try
        {
            var api = CurrentApi();
            RateLimit core;
            try
            {
                var limits = await CallAsync(api, "health check", () => api.Connection.Get<MiscellaneousRateLimit>(new Uri("rate_limit", UriKind.Relative), null, AcceptJson, cancellationToken), cancellationToken);
                core = limits.Body.Resources.Core;
            }
            catch (PluginException ex) when (ex.IsNotFound)
            {
                // GitHub Enterprise Server with rate limiting disabled answers 404 here.
                var user = await CallAsync(api, "health check", () => api.Connection.Get<User>(new Uri("user", UriKind.Relative), null, AcceptJson, cancellationToken), cancellationToken);
                return new PluginHealth(true, $"connected as {user.Body.Login}; rate limiting is disabled on this server",
                    new Dictionary<string, object> { ["api_url"] = api.BaseUri.ToString() });
            }

            var details = new Dictionary<string, object>
            {
                ["api_url"] = api.BaseUri.ToString(),
                ["rate_limit_limit"] = core.Limit,
                ["rate_limit_remaining"] = core.Remaining,
                ["rate_limit_reset"] = core.Reset.ToString("O", CultureInfo.InvariantCulture),
            };
            return core.Remaining <= 0
                ? new PluginHealth(false, $"the rate limit is exhausted until {core.Reset:u}", details)
                : new PluginHealth(true, $"{core.Remaining} of {core.Limit} requests left until {core.Reset:u}", details);
        }
        catch (PluginException ex)
        {
            return PluginHealth.Failed(ex.Message);
        }
    }

    public bool Handles(string repositoryUrl)
    {
        if (!GitHubRepositoryAddress.TryParseHost(repositoryUrl, out var scheme, out var host, out var port) || !TryApiBase(out var api))
        {
            return false;
        }

        if (GitHubSettings.IsPublicGitHub(api))
        {
            return host is "github.com" or "www.github.com";
        }

        // Enterprise (or a test server): the web and git host is the API's host; over http(s) the port must match too.
        return string.Equals(host, api.Host, StringComparison.OrdinalIgnoreCase) && (scheme is not ("http" or "https") || port == api.Port);
    }

    public IReadOnlyList<KeyValuePair<string, string>> GitConfigFor(string repositoryUrl)
    {
        var settings = _settings.CurrentValue;
        if (!settings.IsConfigured || !Handles(repositoryUrl)
            || !GitHubRepositoryAddress.TryParseHost(repositoryUrl, out var scheme, out var host, out var port) || scheme is not ("http" or "https"))
        {
            return [];
        }

        // GitHub's documented form for tokens over HTTPS: user "x-access-token", the token as the password. Scoped to the
        // code host (http.<url>.extraHeader), so that a redirect or a submodule on another host never receives it.
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes("x-access-token:" + settings.Token!.Trim()));
        var defaultPort = scheme == "https" ? 443 : 80;
        var origin = port == defaultPort || port <= 0 ? $"{scheme}://{host}/" : $"{scheme}://{host}:{port.ToString(System.Globalization.CultureInfo.InvariantCulture)}/";
        return [new($"http.{origin}.extraHeader", "Authorization: Basic " + basic)];
    }

    public async Task<RepositoryInfo> GetRepositoryAsync(string repositoryUrl, CancellationToken cancellationToken)
    {
        var address = Address(repositoryUrl);
        var api = CurrentApi();
        var response = await CallAsync(api, $"get repository {address.FullName}",
            () => api.Connection.Get<Repository>(RepositoryPath(address, ""), null, AcceptJson, cancellationToken), cancellationToken);
        var repository = response.Body;
        return new RepositoryInfo(repository.Owner?.Login ?? address.Owner, repository.Name, repository.FullName, repository.DefaultBranch,
            repository.CloneUrl, repository.HtmlUrl, repository.Private);
    }

    public async Task<BranchInfo> EnsureBranchAsync(string repositoryUrl, string branch, string baseBranch, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(branch);
        ArgumentException.ThrowIfNullOrWhiteSpace(baseBranch);
        var address = Address(repositoryUrl);
        var api = CurrentApi();
        if (await FindBranchAsync(api, address, branch, cancellationToken) is { } existing)
        {
            return new BranchInfo(branch, existing, Created: false);
        }

        var baseSha = await FindBranchAsync(api, address, baseBranch, cancellationToken)
            ?? throw new PluginException(PluginName, $"the base branch '{baseBranch}' does not exist in {address.FullName}", 404);
        try
        {
            var created = await CallAsync(api, $"create branch {branch} in {address.FullName}",
                () => api.Connection.Post<Reference>(RepositoryPath(address, "/git/refs"), new NewReference("refs/heads/" + branch, baseSha),
                    AcceptJson, "application/json", (IDictionary<string, string>?)null, cancellationToken),
                cancellationToken);
            LogBranchCreated(_logger, branch, address.FullName, baseBranch);
            return new BranchInfo(branch, created.Body.Object?.Sha ?? baseSha, Created: true);
        }
        catch (PluginException ex) when (ex.StatusCode == 422)
        {
            // "Reference already exists": someone (a retry, a push) made it since we looked.
            if (await FindBranchAsync(api, address, branch, cancellationToken) is { } raced)
            {
                return new BranchInfo(branch, raced, Created: false);
            }

            throw;
        }
    }

    public async Task<PullRequestInfo?> FindPullRequestAsync(string repositoryUrl, string branch, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(branch);
        var address = Address(repositoryUrl);
        var api = CurrentApi();
        var pull = await FindOpenPullRequestAsync(api, address, branch, cancellationToken);
        return pull is null ? null : ToInfo(pull, created: false);
    }

    public async Task<PullRequestInfo> CreateOrUpdatePullRequestAsync(PullRequestDraft draft, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(draft);
        ArgumentException.ThrowIfNullOrWhiteSpace(draft.Branch);
        ArgumentException.ThrowIfNullOrWhiteSpace(draft.BaseBranch);
        var address = Address(draft.RepositoryUrl);
        var api = CurrentApi();
        if (await FindOpenPullRequestAsync(api, address, draft.Branch, cancellationToken) is { } open)
        {
            return await UpdatePullRequestAsync(api, address, open, draft, cancellationToken);
        }

        try
        {
            var request = new NewPullRequest(draft.Title, draft.Branch, draft.BaseBranch) { Body = draft.Body, Draft = draft.Draft };
            var created = await CallAsync(api, $"open a pull request for {draft.Branch} in {address.FullName}",
                () => api.Connection.Post<PullRequest>(RepositoryPath(address, "/pulls"), request, AcceptJson, "application/json",
                    (IDictionary<string, string>?)null, cancellationToken),
                cancellationToken);
            LogPullRequestOpened(_logger, created.Body.Number, address.FullName, draft.Branch);
            return ToInfo(created.Body, created: true);
        }
        catch (PluginException ex) when (ex.StatusCode == 422)
        {
            // "A pull request already exists for owner:branch": opened since we looked (a retry after an unknown outcome).
            if (await FindOpenPullRequestAsync(api, address, draft.Branch, cancellationToken) is { } raced)
            {
                return await UpdatePullRequestAsync(api, address, raced, draft, cancellationToken);
            }

            throw;
        }
    }

    public async Task<ExternalObject> AddCommentAsync(string repositoryUrl, int number, string body, string idempotencyKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        var marker = Marker(idempotencyKey);
        var address = Address(repositoryUrl);
        var api = CurrentApi();
        var comment = await CallAsync(api, $"comment on {address.FullName}#{number}",
            () => api.Connection.Post<IssueComment>(RepositoryPath(address, $"/issues/{number.ToString(CultureInfo.InvariantCulture)}/comments"),
                new CommentBody(body + "\n\n" + marker), AcceptJson, "application/json", (IDictionary<string, string>?)null, cancellationToken),
            cancellationToken);
        LogCommentAdded(_logger, address.FullName, number, comment.Body.Id);
        return new ExternalObject(comment.Body.Id.ToString(CultureInfo.InvariantCulture), comment.Body.HtmlUrl, Created: true);
    }

    public async Task<ExternalObject?> FindCommentAsync(string repositoryUrl, int number, string idempotencyKey, CancellationToken cancellationToken)
    {
        var marker = Marker(idempotencyKey);
        var address = Address(repositoryUrl);
        var api = CurrentApi();
        Uri? page = RepositoryPath(address, $"/issues/{number.ToString(CultureInfo.InvariantCulture)}/comments");
        IDictionary<string, string>? parameters = new Dictionary<string, string> { ["per_page"] = PageSize.ToString(CultureInfo.InvariantCulture) };
        for (var pages = 0; page is not null && pages < MaxCommentPages; pages++)
        {
            var uri = page;
            var query = parameters;
            var response = await CallAsync(api, $"list comments of {address.FullName}#{number}",
                () => api.Connection.Get<List<IssueComment>>(uri, query, AcceptJson, cancellationToken), cancellationToken);
            if (response.Body.FirstOrDefault(c => c.Body?.Contains(marker, StringComparison.Ordinal) == true) is { } found)
            {
                return new ExternalObject(found.Id.ToString(CultureInfo.InvariantCulture), found.HtmlUrl, Created: false);
            }

            // The next page's link carries the query; follow it only to the API's own host (it gets the token).
            page = response.HttpResponse.ApiInfo?.Links is { } links && links.TryGetValue("next", out var next) && SameOrigin(next, api.BaseUri) ? next : null;
            parameters = null;
        }

        return null;
    }

    /// <summary>The invisible marker that carries an idempotency key in a comment's body.</summary>
    internal static string Marker(string idempotencyKey)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(idempotencyKey);
        if (idempotencyKey.Contains("--", StringComparison.Ordinal) || idempotencyKey.Contains('>', StringComparison.Ordinal) || idempotencyKey.Any(char.IsControl))
        {
            throw new ArgumentException("An idempotency key must not contain '--', '>' or control characters (it goes into an HTML comment).", nameof(idempotencyKey));
        }

        return $"<!-- devorch:{idempotencyKey} -->";
    }

    private async Task<PullRequestInfo> UpdatePullRequestAsync(GitHubApi api, GitHubRepositoryAddress address, PullRequest open, PullRequestDraft draft, CancellationToken cancellationToken)
    {
        var update = new PullRequestUpdate
        {
            Title = draft.Title,
            Body = draft.Body,
            Base = string.Equals(open.Base?.Ref, draft.BaseBranch, StringComparison.Ordinal) ? null : draft.BaseBranch,
        };

        // Octokit's PATCH takes no cancellation token; the caller stops waiting, the pipeline's timeout bounds the call.
        var updated = await CallAsync(api, $"update pull request #{open.Number} in {address.FullName}",
            () => api.Client.PullRequest.Update(address.Owner, address.Name, open.Number, update), cancellationToken);
        LogPullRequestUpdated(_logger, updated.Number, address.FullName, draft.Branch);
        return ToInfo(updated, created: false);
    }

    private async Task<PullRequest?> FindOpenPullRequestAsync(GitHubApi api, GitHubRepositoryAddress address, string branch, CancellationToken cancellationToken)
    {
        var parameters = new Dictionary<string, string>
        {
            ["state"] = "open",
            ["head"] = $"{address.Owner}:{branch}",
            ["per_page"] = PageSize.ToString(CultureInfo.InvariantCulture),
        };
        var response = await CallAsync(api, $"find the pull request for {branch} in {address.FullName}",
            () => api.Connection.Get<List<PullRequest>>(RepositoryPath(address, "/pulls"), parameters, AcceptJson, cancellationToken), cancellationToken);

        // GitHub ignores a head filter it cannot parse; check the head ourselves.
        return response.Body.FirstOrDefault(p => p.Head is { } head && string.Equals(head.Ref, branch, StringComparison.Ordinal)
            && (head.Repository?.Owner?.Login is not { } headOwner || string.Equals(headOwner, address.Owner, StringComparison.OrdinalIgnoreCase)));
    }

    /// <summary>The branch's commit, or null when it does not exist.</summary>
    private async Task<string?> FindBranchAsync(GitHubApi api, GitHubRepositoryAddress address, string branch, CancellationToken cancellationToken)
    {
        var escaped = string.Join('/', branch.Split('/').Select(Uri.EscapeDataString));
        try
        {
            var response = await CallAsync(api, $"get branch {branch} of {address.FullName}",
                () => api.Connection.Get<Reference>(RepositoryPath(address, "/git/ref/heads/" + escaped), null, AcceptJson, cancellationToken), cancellationToken);
            return response.Body.Object?.Sha;
        }
        catch (PluginException ex) when (ex.IsNotFound)
        {
            return null;
        }
    }

    private static PullRequestInfo ToInfo(PullRequest pull, bool created) =>
        new(pull.Number, pull.HtmlUrl, pull.State.StringValue, pull.Head?.Ref ?? "", pull.Base?.Ref ?? "", pull.Title, created);

    private static Uri RepositoryPath(GitHubRepositoryAddress address, string rest) =>
        new($"repos/{Uri.EscapeDataString(address.Owner)}/{Uri.EscapeDataString(address.Name)}{rest}", UriKind.Relative);

    private static bool SameOrigin(Uri link, Uri api) =>
        link.IsAbsoluteUri && string.Equals(link.Scheme, api.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(link.Host, api.Host, StringComparison.OrdinalIgnoreCase) && link.Port == api.Port;

    private GitHubRepositoryAddress Address(string repositoryUrl)
    {
        var address = GitHubRepositoryAddress.TryParse(repositoryUrl)
            ?? throw new PluginException(PluginName, $"'{Redact(repositoryUrl)}' is not a repository URL of the form https://host/owner/repo");
        if (!Handles(repositoryUrl))
        {
            throw new PluginException(PluginName, $"'{Redact(repositoryUrl)}' is not on this GitHub server ({(TryApiBase(out var api) ? api.ToString() : "GITHUB_API_URL is invalid")})");
        }

        return address;
    }

    /// <summary>The URL without any user or password in it (for messages).</summary>
    private static string Redact(string? url)
    {
        if (url is null)
        {
            return "";
        }

        if (Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) && uri.UserInfo.Length > 0)
        {
            return new UriBuilder(uri) { UserName = "", Password = "" }.Uri.ToString();
        }

        return url;
    }

    private bool TryApiBase(out Uri api)
    {
        try
        {
            api = _settings.CurrentValue.ApiBaseUri;
            return true;
        }
        catch (UriFormatException)
        {
            api = null!;
            return false;
        }
    }

    /// <summary>The Octokit client for the current token and API URL (built again when either changes).</summary>
    private GitHubApi CurrentApi()
    {
        var settings = _settings.CurrentValue;
        if (!settings.IsConfigured)
        {
            throw new PluginException(PluginName, "not configured: GITHUB_TOKEN is not set");
        }

        if (!TryApiBase(out var baseUri))
        {
            throw new PluginException(PluginName, "GITHUB_API_URL is not a valid URL");
        }

        var token = settings.Token!.Trim();
        lock (_lock)
        {
            if (_api is { } current && current.Matches(token, baseUri))
            {
                return current;
            }

            // Octokit sends through the named client's handler chain, so the plugin resilience pipeline applies.
            var http = new HttpClientAdapter(() => _handlers.CreateHandler(HttpClientName));
            var connection = new Connection(new ProductHeaderValue("devorch"), baseUri, new InMemoryCredentialStore(new Credentials(token)), http, new SimpleJsonSerializer());

            // The pipeline's own timeouts bound each call; HttpClient's 100 s default would cut retries short.
            connection.SetRequestTimeout(Timeout.InfiniteTimeSpan);
            _api = new GitHubApi(token, baseUri, connection, new GitHubClient(connection));
            LogClientBuilt(_logger, baseUri);
            return _api;
        }
    }

    private async Task<T> CallAsync<T>(GitHubApi api, string action, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call().WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (Translate(ex, action, api.BaseUri, cancellationToken) is { } failure)
        {
            LogCallFailed(_logger, action, failure.StatusCode, failure.Message);
            throw failure;
        }
    }

    /// <summary>Octokit's and the pipeline's exceptions as a <see cref="PluginException"/> with GitHub's own message (never a credential).</summary>
    private static PluginException? Translate(Exception ex, string action, Uri apiUrl, CancellationToken cancellationToken) => ex switch
    {
        OperationCanceledException when cancellationToken.IsCancellationRequested => null,
        PluginException => null,
        RateLimitExceededException limit => new PluginException(PluginName,
            $"{action}: GitHub's rate limit is exhausted ({limit.Remaining} of {limit.Limit} left, resets at {limit.Reset:u}): {VendorMessage(limit)}", (int)limit.StatusCode, limit),
        ApiValidationException invalid => new PluginException(PluginName, $"{action}: GitHub refused the request (422): {VendorMessage(invalid)}", 422, invalid),
        NotFoundException missing => new PluginException(PluginName, $"{action}: not found (404): {VendorMessage(missing)}", 404, missing),
        AuthorizationException refused => new PluginException(PluginName,
            $"{action}: GitHub refused the credentials (401): {VendorMessage(refused)}; check GITHUB_TOKEN", 401, refused),
        ForbiddenException forbidden => new PluginException(PluginName,
            $"{action}: forbidden (403): {VendorMessage(forbidden)}; the token may lack a permission or scope", 403, forbidden),
        ApiException api => new PluginException(PluginName, $"{action}: GitHub answered {(int)api.StatusCode}: {VendorMessage(api)}", (int)api.StatusCode, api),
        BrokenCircuitException open => new PluginException(PluginName, $"{action}: {open.Message}", null, open),
        TimeoutRejectedException timeout => new PluginException(PluginName, $"{action}: GitHub did not answer in time", null, timeout),
        RateLimiterRejectedException queued => new PluginException(PluginName, $"{action}: too many GitHub calls are waiting for the rate limit", null, queued),
        HttpRequestException network => new PluginException(PluginName, $"{action}: could not reach GitHub at {apiUrl}: {network.Message}", null, network),
        OperationCanceledException timedOut => new PluginException(PluginName, $"{action}: GitHub did not answer in time", null, timedOut),
        { InnerException: { } inner } => Translate(inner, action, apiUrl, cancellationToken),
        _ => null,
    };

    private static string VendorMessage(ApiException ex)
    {
        var message = ex.ApiError?.Message is { Length: > 0 } text ? text : ex.Message;
        var details = ex.ApiError?.Errors?
            .Select(e => e.Message is { Length: > 0 } m ? m : string.Join(' ', new[] { e.Resource, e.Field, e.Code }.Where(p => !string.IsNullOrEmpty(p))))
            .Where(d => d.Length > 0)
            .ToArray() ?? [];
        return details.Length == 0 ? message : $"{message} ({string.Join("; ", details)})";
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "GitHub client built for {ApiUrl}")]
    private static partial void LogClientBuilt(ILogger logger, Uri apiUrl);

    [LoggerMessage(Level = LogLevel.Information, Message = "Created branch {Branch} in {Repository} from {BaseBranch}")]
    private static partial void LogBranchCreated(ILogger logger, string branch, string repository, string baseBranch);

    [LoggerMessage(Level = LogLevel.Information, Message = "Opened pull request #{Number} in {Repository} for {Branch}")]
    private static partial void LogPullRequestOpened(ILogger logger, int number, string repository, string branch);

    [LoggerMessage(Level = LogLevel.Information, Message = "Updated pull request #{Number} in {Repository} for {Branch}")]
    private static partial void LogPullRequestUpdated(ILogger logger, int number, string repository, string branch);

    [LoggerMessage(Level = LogLevel.Information, Message = "Commented on {Repository}#{Number} (comment {CommentId})")]
    private static partial void LogCommentAdded(ILogger logger, string repository, int number, long commentId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "GitHub call '{Action}' failed (status {StatusCode}): {Failure}")]
    private static partial void LogCallFailed(ILogger logger, string action, int? statusCode, string failure);

    /// <summary>The Octokit client of one token and API URL. Not a record: its text must never show the token.</summary>
    private sealed class GitHubApi(string token, Uri baseUri, IConnection connection, GitHubClient client)
    {
        public Uri BaseUri { get; } = baseUri;
        public IConnection Connection { get; } = connection;
        public GitHubClient Client { get; } = client;

        public bool Matches(string otherToken, Uri otherBase) => string.Equals(token, otherToken, StringComparison.Ordinal) && BaseUri == otherBase;
    }

    /// <summary>The body of <c>POST …/issues/{n}/comments</c>.</summary>
    private sealed class CommentBody(string body)
    {
        public string Body { get; } = body;
    }
}
