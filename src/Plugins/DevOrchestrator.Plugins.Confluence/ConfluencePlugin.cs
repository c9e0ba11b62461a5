using System.Collections.Concurrent;
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

namespace DevOrchestrator.Plugins.Confluence;

/// <summary>
/// Confluence Cloud through its REST API v2 (<c>{CONFLUENCE_URL}/api/v2/</c>) with Basic authentication
/// (<c>CONFLUENCE_EMAIL</c>:<c>CONFLUENCE_API_TOKEN</c>). Writes one page per title in a space: creates it, or updates it
/// to the next version, or leaves it alone when its body is already the one asked for.
/// </summary>
public sealed partial class ConfluencePlugin(
    IHttpClientFactory httpClientFactory,
    IOptionsMonitor<ConfluenceSettings> settings,
    ILogger<ConfluencePlugin> logger) : IDocumentationPlugin
{
    /// <summary>The name of the plugin's <see cref="HttpClient"/> (and of its resilience state).</summary>
    public const string HttpClientName = "confluence";

    /// <summary>The version message stored with every update.</summary>
    public const string VersionMessage = "Updated by DevOrchestrator";

    private const string StorageRepresentation = "storage";

    private static readonly ConfluenceSettingsValidator Validator = new();

    // Space key → id, per site (the site may change at runtime). Cleared by DisconnectAsync.
    private readonly ConcurrentDictionary<(string Site, string Key), string> _spaceIds = new();

    public string Type => PluginTypes.Documentation;

    public string Name => "confluence";

    public string Description => "Confluence Cloud: writes task documentation pages into a space (REST API v2).";

    public IReadOnlyList<PluginSetting> Settings { get; } =
    [
        new(ConfluenceSettings.UrlKey, "The site's wiki base, e.g. https://your-domain.atlassian.net/wiki (the v2 API is at {CONFLUENCE_URL}/api/v2/).", Required: true),
        new(ConfluenceSettings.EmailKey, "The e-mail address of the Atlassian account the API token belongs to.", Required: true),
        new(ConfluenceSettings.ApiTokenKey, "An Atlassian API token of that account (Basic authentication).", Required: true, Secret: true),
        new(ConfluenceSettings.RateLimitKey, "Requests per second to Confluence; overrides RATE_LIMIT_REQUESTS_PER_SECOND when set."),
    ];

    public bool IsConfigured => settings.CurrentValue.IsConfigured;

    public IReadOnlyDictionary<string, string> Validate(IReadOnlyDictionary<string, string?> values) =>
        PluginSettingsBinding.Validate(values, Validator, Settings);

    public async Task<PluginConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        var current = Current();
        using var response = await SendAsync(current, HttpMethod.Get, "spaces?limit=1", null, cancellationToken);
        await EnsureSuccessAsync(current, response, "GET /spaces", cancellationToken);
        var details = new Dictionary<string, object>(StringComparer.Ordinal) { ["url"] = current.SiteUrl };
        return new PluginConnection($"{current.Email} on {new Uri(current.SiteUrl).Host}", details);
    }

    public Task DisconnectAsync(CancellationToken cancellationToken)
    {
        _spaceIds.Clear();
        return Task.CompletedTask;
    }

    public async Task<PluginHealth> CheckHealthAsync(CancellationToken cancellationToken)
    {
        if (!settings.CurrentValue.IsConfigured)
        {
            return PluginHealth.Failed($"not configured: set {ConfluenceSettings.UrlKey}, {ConfluenceSettings.EmailKey} and {ConfluenceSettings.ApiTokenKey}");
        }

        try
        {
            var connection = await ConnectAsync(cancellationToken);
            return PluginHealth.Ok($"connected as {connection.Identity}");
        }
        catch (PluginException ex)
        {
            return PluginHealth.Failed(ex.Message);
        }
    }

    public async Task<DocumentPage> CreateOrUpdatePageAsync(DocumentPageDraft page, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(page);
        ArgumentException.ThrowIfNullOrWhiteSpace(page.SpaceKey);
        ArgumentException.ThrowIfNullOrWhiteSpace(page.Title);
        ArgumentNullException.ThrowIfNull(page.Body);
        var current = Current();
        var spaceId = await GetSpaceIdAsync(current, page.SpaceKey, cancellationToken);
        var existing = await FindPageAsync(current, spaceId, page.Title, cancellationToken);
        if (existing is null)
        {
            try
            {
                return await CreatePageAsync(current, spaceId, page, cancellationToken);
            }
            catch (PluginException ex) when (ex.StatusCode == 400)
            {
                // A page of that title may have appeared since the search (another writer, or our own earlier attempt
                // whose answer was lost): update it instead; otherwise the 400 stands.
                existing = await FindPageAsync(current, spaceId, page.Title, cancellationToken);
                if (existing is null)
                {
                    throw;
                }
            }
        }

        return await UpdatePageAsync(current, existing, page, cancellationToken);
    }

    private async Task<string> GetSpaceIdAsync(ConfluenceSettings current, string spaceKey, CancellationToken cancellationToken)
    {
        var key = spaceKey.Trim();
        if (_spaceIds.TryGetValue((current.SiteUrl, key), out var cached))
        {
            return cached;
        }

        using var response = await SendAsync(current, HttpMethod.Get, $"spaces?keys={Uri.EscapeDataString(key)}&limit=1", null, cancellationToken);
        var json = await EnsureSuccessAsync(current, response, "GET /spaces", cancellationToken);
        var space = (json?["results"] as JsonArray)?
            .OfType<JsonObject>()
            .FirstOrDefault(s => string.Equals(Text(s["key"]), key, StringComparison.OrdinalIgnoreCase));
        var id = Text(space?["id"]);
        if (string.IsNullOrEmpty(id))
        {
            throw new PluginException(Name, $"space {key} not found (or the account {current.Email} cannot view it)", (int)HttpStatusCode.NotFound);
        }

        _spaceIds[(current.SiteUrl, key)] = id;
        return id;
    }

    /// <summary>The current page titled exactly <paramref name="title"/> in the space, with its storage body, or null.</summary>
    private async Task<ExistingPage?> FindPageAsync(ConfluenceSettings current, string spaceId, string title, CancellationToken cancellationToken)
    {
        var query = $"pages?space-id={Uri.EscapeDataString(spaceId)}&title={Uri.EscapeDataString(title)}&status=current&body-format={StorageRepresentation}&limit=25";
        using var response = await SendAsync(current, HttpMethod.Get, query, null, cancellationToken);
        var json = await EnsureSuccessAsync(current, response, "GET /pages", cancellationToken);
        var match = (json?["results"] as JsonArray)?
            .OfType<JsonObject>()
            .FirstOrDefault(p => string.Equals(Text(p["title"]), title, StringComparison.Ordinal));
        return match is null ? null : ExistingPage.From(match, Text(json?["_links"]?["base"]));
    }

    private async Task<ExistingPage> GetPageAsync(ConfluenceSettings current, string pageId, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(current, HttpMethod.Get, $"pages/{Uri.EscapeDataString(pageId)}?body-format={StorageRepresentation}", null, cancellationToken);
        var json = await EnsureSuccessAsync(current, response, "GET /pages/{id}", cancellationToken);
        return ExistingPage.From(json as JsonObject ?? [], null);
    }

    private async Task<DocumentPage> CreatePageAsync(ConfluenceSettings current, string spaceId, DocumentPageDraft page, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["spaceId"] = spaceId,
            ["status"] = "current",
            ["title"] = page.Title,
        };
        if (!string.IsNullOrWhiteSpace(page.ParentId))
        {
            body["parentId"] = page.ParentId;
        }

        body["body"] = new JsonObject { ["representation"] = StorageRepresentation, ["value"] = page.Body };
        using var response = await SendAsync(current, HttpMethod.Post, "pages", body, cancellationToken);
        var json = await EnsureSuccessAsync(current, response, "POST /pages", cancellationToken) as JsonObject ?? [];
        var created = ExistingPage.From(json, null);
        if (created.Id.Length == 0)
        {
            throw new PluginException(Name, "POST /pages: Confluence's answer has no page id", (int)response.StatusCode);
        }

        LogPageCreated(logger, page.SpaceKey, created.Id, created.Version);
        return new DocumentPage(created.Id, created.Title ?? page.Title, created.Version is > 0 ? created.Version : 1, WebUrl(current, created), Created: true);
    }

    private async Task<DocumentPage> UpdatePageAsync(ConfluenceSettings current, ExistingPage existing, DocumentPageDraft page, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            if (IsUnchanged(existing, page))
            {
                LogPageUnchanged(logger, page.SpaceKey, existing.Id, existing.Version);
                return new DocumentPage(existing.Id, existing.Title ?? page.Title, existing.Version, WebUrl(current, existing), Created: false);
            }

            var next = existing.Version + 1;
            var body = new JsonObject
            {
                ["id"] = existing.Id,
                ["status"] = "current",
                ["title"] = page.Title,
            };
            if (!string.IsNullOrWhiteSpace(page.ParentId))
            {
                body["parentId"] = page.ParentId;
            }

            body["body"] = new JsonObject { ["representation"] = StorageRepresentation, ["value"] = page.Body };
            body["version"] = new JsonObject { ["number"] = next, ["message"] = VersionMessage };
            using var response = await SendAsync(current, HttpMethod.Put, $"pages/{Uri.EscapeDataString(existing.Id)}", body, cancellationToken);
            if (response.StatusCode == HttpStatusCode.Conflict && attempt == 1)
            {
                // Someone saved the page between our read and our write: read the version again and try once more.
                LogVersionConflict(logger, page.SpaceKey, existing.Id, next);
                existing = await GetPageAsync(current, existing.Id, cancellationToken);
                continue;
            }

            var json = await EnsureSuccessAsync(current, response, "PUT /pages/{id}", cancellationToken) as JsonObject ?? [];
            var updated = ExistingPage.From(json, null);
            var version = updated.Version > 0 ? updated.Version : next;
            LogPageUpdated(logger, page.SpaceKey, existing.Id, version);
            return new DocumentPage(existing.Id, updated.Title ?? page.Title, version, WebUrl(current, updated.WebUi is null ? existing : updated), Created: false);
        }
    }

    private static bool IsUnchanged(ExistingPage existing, DocumentPageDraft page) =>
        existing.StorageBody is { } body
        && string.Equals(body.Trim(), page.Body.Trim(), StringComparison.Ordinal)
        && (string.IsNullOrWhiteSpace(page.ParentId) || string.Equals(existing.ParentId, page.ParentId, StringComparison.Ordinal));

    private static string? WebUrl(ConfluenceSettings current, ExistingPage page)
    {
        if (string.IsNullOrEmpty(page.WebUi))
        {
            return null;
        }

        if (Uri.TryCreate(page.WebUi, UriKind.Absolute, out var absolute) && (absolute.Scheme == Uri.UriSchemeHttp || absolute.Scheme == Uri.UriSchemeHttps))
        {
            return absolute.ToString();
        }

        var site = string.IsNullOrEmpty(page.Base) ? current.SiteUrl : page.Base.TrimEnd('/');
        return site + (page.WebUi.StartsWith('/') ? page.WebUi : "/" + page.WebUi);
    }

    private ConfluenceSettings Current()
    {
        var current = settings.CurrentValue;
        if (!current.IsConfigured)
        {
            throw new PluginException(Name, $"not configured: set {ConfluenceSettings.UrlKey}, {ConfluenceSettings.EmailKey} and {ConfluenceSettings.ApiTokenKey}");
        }

        if (current.ApiBase is null)
        {
            throw new PluginException(Name, $"{ConfluenceSettings.UrlKey} is not a valid URL");
        }

        return current;
    }

    /// <summary>Sends one call through the plugin's resilient client; failures of the pipeline itself become <see cref="PluginException"/>.</summary>
    private async Task<HttpResponseMessage> SendAsync(ConfluenceSettings current, HttpMethod method, string relative, JsonNode? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(current.ApiBase!, relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{current.Email!.Trim()}:{current.ApiToken!.Trim()}")));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        var what = $"{method.Method} /{relative.Split('?')[0]}";
        var client = httpClientFactory.CreateClient(HttpClientName);
        try
        {
            return await client.SendAsync(request, cancellationToken);
        }
        catch (BrokenCircuitException ex)
        {
            throw new PluginException(Name, $"{what}: {ex.Message}", innerException: ex);
        }
        catch (RateLimiterRejectedException ex)
        {
            throw new PluginException(Name, $"{what}: rate limit queue full, try again later", (int)HttpStatusCode.TooManyRequests, ex);
        }
        catch (TimeoutRejectedException ex)
        {
            throw new PluginException(Name, $"{what}: Confluence did not answer in time", innerException: ex);
        }
        catch (HttpRequestException ex)
        {
            throw new PluginException(Name, $"{what}: cannot reach Confluence at {current.SiteUrl}: {ex.Message}", innerException: ex);
        }
    }

    /// <summary>Reads a successful answer's JSON, or throws a <see cref="PluginException"/> carrying Confluence's own error text.</summary>
    private async Task<JsonNode?> EnsureSuccessAsync(ConfluenceSettings current, HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            try
            {
                return text.Length == 0 ? null : JsonNode.Parse(text);
            }
            catch (JsonException ex)
            {
                throw new PluginException(Name, $"{what}: Confluence answered {(int)response.StatusCode} with a body that is not JSON", (int)response.StatusCode, ex);
            }
        }

        var status = (int)response.StatusCode;
        var vendor = Scrub(current, VendorError(text));
        var message = response.StatusCode switch
        {
            HttpStatusCode.Unauthorized => $"{what}: authentication failed (401); check {ConfluenceSettings.EmailKey} and {ConfluenceSettings.ApiTokenKey}",
            HttpStatusCode.Forbidden => $"{what}: the account {current.Email} is not allowed to do this (403)",
            HttpStatusCode.NotFound => $"{what}: not found (404), or the account {current.Email} cannot view it",
            HttpStatusCode.TooManyRequests => $"{what}: rate limited by Confluence (429) after retries",
            _ => $"{what}: Confluence answered {status} {response.ReasonPhrase}",
        };
        if (!string.IsNullOrEmpty(vendor))
        {
            message += ": " + vendor;
        }

        LogVendorError(logger, what, status);
        throw new PluginException(Name, message, status);
    }

    /// <summary>The text of Confluence's error answer: v2's <c>{errors:[{status, code, title, detail}]}</c>, v1's <c>{message}</c>, or the raw body's start.</summary>
    private static string VendorError(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return "";
        }

        try
        {
            var json = JsonNode.Parse(text);
            if (json?["errors"] is JsonArray errors && errors.Count > 0)
            {
                return string.Join("; ", errors.OfType<JsonObject>().Select(e =>
                {
                    var title = Text(e["title"]);
                    var detail = Text(e["detail"]);
                    var code = Text(e["code"]);
                    var parts = string.Join(" — ", new[] { title, detail }.Where(s => !string.IsNullOrWhiteSpace(s)));
                    return string.IsNullOrEmpty(code) ? parts : $"{parts} ({code})";
                }));
            }

            if (Text(json?["message"]) is { Length: > 0 } message)
            {
                return message;
            }
        }
        catch (JsonException)
        {
        }

        var trimmed = text.Trim();
        return trimmed.Length <= 300 ? trimmed : trimmed[..300] + "…";
    }

    /// <summary>Never let a credential through, even if a proxy echoed it.</summary>
    private static string Scrub(ConfluenceSettings current, string text)
    {
        var token = current.ApiToken?.Trim();
        if (!string.IsNullOrEmpty(token))
        {
            text = text.Replace(token, "***", StringComparison.Ordinal);
            var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{current.Email?.Trim()}:{token}"));
            text = text.Replace(basic, "***", StringComparison.Ordinal);
        }

        return text;
    }

    private static string? Text(JsonNode? node) => node is JsonValue value
        ? value.TryGetValue<string>(out var s) ? s : value.ToJsonString()
        : null;

    [LoggerMessage(Level = LogLevel.Information, Message = "Confluence page {PageId} created in space {SpaceKey} (version {Version})")]
    private static partial void LogPageCreated(ILogger logger, string spaceKey, string pageId, int version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Confluence page {PageId} in space {SpaceKey} updated to version {Version}")]
    private static partial void LogPageUpdated(ILogger logger, string spaceKey, string pageId, int version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Confluence page {PageId} in space {SpaceKey} already has this body (version {Version}); not updated")]
    private static partial void LogPageUnchanged(ILogger logger, string spaceKey, string pageId, int version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Confluence page {PageId} in space {SpaceKey} was edited meanwhile (version {Version} refused); reading it again")]
    private static partial void LogVersionConflict(ILogger logger, string spaceKey, string pageId, int version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Confluence call {Call} failed with status {StatusCode}")]
    private static partial void LogVendorError(ILogger logger, string call, int statusCode);

    /// <summary>The fields of a Confluence page (v2 <c>PageSingle</c>/<c>PageBulk</c>) that the plugin reads.</summary>
    private sealed record ExistingPage(string Id, string? Title, int Version, string? ParentId, string? StorageBody, string? WebUi, string? Base)
    {
        public static ExistingPage From(JsonObject page, string? listBase) => new(
            Text(page["id"]) ?? "",
            Text(page["title"]),
            page["version"]?["number"] is JsonValue number && number.TryGetValue<int>(out var n) ? n : 0,
            Text(page["parentId"]),
            Text(page["body"]?[StorageRepresentation]?["value"]),
            Text(page["_links"]?["webui"]),
            Text(page["_links"]?["base"]) ?? listBase);
    }
}
