using System.Collections.Concurrent;
using System.Globalization;
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

namespace DevOrchestrator.Plugins.Slack;

/// <summary>
/// Slack through its Web API (<c>chat.postMessage</c>, <c>chat.update</c>, <c>chat.getPermalink</c>,
/// <c>conversations.history</c>, <c>conversations.replies</c>, <c>conversations.list</c>, <c>auth.test</c>) with the bot
/// token as a bearer token. Only <c>chat.postMessage</c> accepts a channel name; every other method wants the
/// conversation ID, so a configured name (<c>#backend</c>) is resolved once — from <c>chat.postMessage</c>'s answer or
/// <c>conversations.list</c> — and cached.
/// Every message carries its idempotency key as message metadata (<c>event_type</c> <see cref="MetadataEventType"/>),
/// which <see cref="FindMessageAsync"/> looks for. Slack reports most errors as HTTP 200 with
/// <c>{"ok": false, "error": "…"}</c>; they become <see cref="PluginException"/>s carrying Slack's error code.
/// </summary>
public sealed partial class SlackPlugin : ICommunicationPlugin
{
    /// <summary>The named <see cref="HttpClient"/> of the Web API calls (with the plugin resilience pipeline).</summary>
    public const string HttpClientName = "slack";

    /// <summary>
    /// The named <see cref="HttpClient"/> that posts to slash command <c>response_url</c>s: no logging (the URL is a
    /// secret), no redirects, no retries (a response URL takes few uses).
    /// </summary>
    public const string ResponseUrlHttpClientName = "slack-response-url";

    public const string PluginName = "slack";

    /// <summary>The <c>metadata.event_type</c> of the messages this service posts.</summary>
    public const string MetadataEventType = "devorch_message";

    /// <summary>Messages asked for per page when looking for an idempotency key.</summary>
    internal const int FindPageSize = 200;

    /// <summary>Pages of a thread read at most when looking for an idempotency key (a thread is read oldest first).</summary>
    internal const int MaxThreadPages = 5;

    /// <summary>Channels asked for per page of <c>conversations.list</c> (Slack's maximum is 1000).</summary>
    internal const int ListPageSize = 1000;

    private static readonly PluginSetting[] SettingList =
    [
        new(SlackSettings.BotTokenKey, "Bot user OAuth token (xoxb-…) with chat:write, channels:history, groups:history (and im/mpim:history for DMs), and channels:read, groups:read when channels are configured by name.", Required: true, Secret: true),
        new(SlackSettings.SigningSecretKey, "Signing secret of the Slack app; verifies slash command requests (needed for the slash command).", Secret: true),
        new(SlackSettings.AppTokenKey, "App-level token (xapp-…). Accepted but unused: Socket Mode is not supported.", Secret: true),
        new(SlackSettings.ApiUrlKey, "Base URL of the Slack Web API.", Default: SlackSettings.DefaultApiUrl),
        new(SlackSettings.RateLimitKey, "Requests per second to Slack for this process (overrides RATE_LIMIT_REQUESTS_PER_SECOND; Slack allows about 1 message per second per channel)."),
        new(SlackSettings.CommandKey, "The slash command that creates tasks.", Default: SlackSettings.DefaultCommand),
    ];

    private readonly IHttpClientFactory _httpClientFactory;
    private readonly IOptionsMonitor<SlackSettings> _settings;
    private readonly ILogger<SlackPlugin> _logger;

    /// <summary>Conversation IDs by channel name (without '#'); IDs never change, so entries never expire.</summary>
    private readonly ConcurrentDictionary<string, string> _channelIds = new(StringComparer.Ordinal);

    public SlackPlugin(IHttpClientFactory httpClientFactory, IOptionsMonitor<SlackSettings> settings, ILogger<SlackPlugin> logger)
    {
        ArgumentNullException.ThrowIfNull(httpClientFactory);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(logger);
        _httpClientFactory = httpClientFactory;
        _settings = settings;
        _logger = logger;
    }

    public string Type => PluginTypes.Communication;

    public string Name => PluginName;

    public string Description => "Slack: task notifications in channels and threads, and the slash command that creates tasks.";

    public IReadOnlyList<PluginSetting> Settings => SettingList;

    public bool IsConfigured
    {
        get
        {
            try
            {
                return _settings.CurrentValue.IsConfigured;
            }
            catch (OptionsValidationException)
            {
                return false;
            }
        }
    }

    public IReadOnlyDictionary<string, string> Validate(IReadOnlyDictionary<string, string?> values) =>
        PluginSettingsBinding.Validate(values, new SlackSettingsValidator(), SettingList);

    public async Task<PluginConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        var answer = await CallAsync(HttpMethod.Get, "auth.test", query: null, body: null, cancellationToken);
        var team = Text(answer, "team") ?? "";
        var user = Text(answer, "user") ?? "";
        var details = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["team"] = team,
            ["user"] = user,
        };
        foreach (var field in (string[])["team_id", "user_id", "bot_id", "url"])
        {
            if (Text(answer, field) is { } value)
            {
                details[field] = value;
            }
        }

        return new PluginConnection($"{user} in {team}", details);
    }

    public async Task<PluginHealth> CheckHealthAsync(CancellationToken cancellationToken)
    {
        if (!IsConfigured)
        {
            return PluginHealth.Failed($"not configured ({SlackSettings.BotTokenKey} is not set)");
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

    public async Task<ChatMessage> PostMessageAsync(ChatMessageDraft message, string idempotencyKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentException.ThrowIfNullOrEmpty(message.Channel);
        ArgumentException.ThrowIfNullOrEmpty(idempotencyKey);
        var body = new JsonObject
        {
            ["channel"] = message.Channel,
            ["text"] = message.Text,
            ["unfurl_links"] = false,
            ["metadata"] = new JsonObject
            {
                ["event_type"] = MetadataEventType,
                ["event_payload"] = new JsonObject { ["idempotency_key"] = idempotencyKey },
            },
        };
        if (!string.IsNullOrEmpty(message.ThreadId))
        {
            body["thread_ts"] = message.ThreadId;
        }

        var answer = await CallAsync(HttpMethod.Post, "chat.postMessage", query: null, body, cancellationToken);
        var channel = Text(answer, "channel") ?? await ChannelIdAsync(message.Channel, cancellationToken);
        if (!IsConversationId(message.Channel))
        {
            _channelIds[ChannelName(message.Channel)] = channel;
        }

        var ts = Text(answer, "ts") ?? throw Unexpected("chat.postMessage", "ts");
        var threadTs = answer["message"] is JsonObject posted ? Text(posted, "thread_ts") : null;
        LogPosted(_logger, channel, ts);
        var url = await PermalinkAsync(channel, ts, cancellationToken);
        return new ChatMessage(channel, ts, threadTs ?? message.ThreadId ?? ts, url, Created: true);
    }

    public async Task<ChatMessage> UpdateMessageAsync(ChatMessage message, string text, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentException.ThrowIfNullOrEmpty(message.Channel);
        ArgumentException.ThrowIfNullOrEmpty(message.MessageId);
        ArgumentNullException.ThrowIfNull(text);
        var channel = await ChannelIdAsync(message.Channel, cancellationToken);
        var body = new JsonObject
        {
            ["channel"] = channel,
            ["ts"] = message.MessageId,
            ["text"] = text,
        };
        var answer = await CallAsync(HttpMethod.Post, "chat.update", query: null, body, cancellationToken);
        LogUpdated(_logger, channel, message.MessageId);
        return message with
        {
            Channel = Text(answer, "channel") ?? channel,
            MessageId = Text(answer, "ts") ?? message.MessageId,
            Created = false,
        };
    }

    public async Task<ChatMessage?> FindMessageAsync(string channel, string? threadId, string idempotencyKey, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        ArgumentException.ThrowIfNullOrEmpty(idempotencyKey);
        channel = await ChannelIdAsync(channel, cancellationToken);
        JsonObject? found;
        if (string.IsNullOrEmpty(threadId))
        {
            // conversations.history answers newest first: one page covers the recent past.
            var answer = await CallAsync(HttpMethod.Get, "conversations.history", Query(("channel", channel), ("limit", FindPageSize.ToString(CultureInfo.InvariantCulture)), ("include_all_metadata", "true")), null, cancellationToken);
            found = Messages(answer).FirstOrDefault(m => HasKey(m, idempotencyKey));
        }
        else
        {
            // conversations.replies answers the parent and then the replies oldest first: read a few pages and take the newest match.
            found = null;
            string? cursor = null;
            for (var page = 0; page < MaxThreadPages; page++)
            {
                var query = Query(("channel", channel), ("ts", threadId), ("limit", FindPageSize.ToString(CultureInfo.InvariantCulture)), ("include_all_metadata", "true"), ("cursor", cursor));
                var answer = await CallAsync(HttpMethod.Get, "conversations.replies", query, null, cancellationToken);
                found = Messages(answer).LastOrDefault(m => HasKey(m, idempotencyKey)) ?? found;
                cursor = answer["response_metadata"] is JsonObject meta ? Text(meta, "next_cursor") : null;
                if (string.IsNullOrEmpty(cursor) || answer["has_more"]?.GetValueKind() != JsonValueKind.True)
                {
                    break;
                }
            }
        }

        if (found is null || Text(found, "ts") is not { } ts)
        {
            return null;
        }

        var url = await PermalinkAsync(channel, ts, cancellationToken);
        return new ChatMessage(channel, ts, Text(found, "thread_ts") ?? threadId ?? ts, url, Created: false);
    }

    /// <summary>Escapes Slack's mrkdwn control characters (<c>&amp;</c>, <c>&lt;</c>, <c>&gt;</c>): no <c>&lt;!channel&gt;</c> pings, no fake links.</summary>
    public string Inert(string text) => SlackMrkdwn.Escape(text);

    /// <summary>
    /// Answers a slash command through its <c>response_url</c> (<c>{"text", "response_type": "in_channel" | "ephemeral"}</c>).
    /// The URL is a secret: it is never logged nor put in an exception, and only Slack's own hosts
    /// (<c>https://hooks.slack.com/…</c>) or the host of <c>SLACK_API_URL</c> are accepted.
    /// </summary>
    public async Task RespondAsync(string replyAddress, string text, bool inChannel, CancellationToken cancellationToken)
    {
        var responseUrl = replyAddress;
        ArgumentException.ThrowIfNullOrEmpty(responseUrl);
        ArgumentNullException.ThrowIfNull(text);
        var settings = CurrentSettings();
        if (!Uri.TryCreate(responseUrl, UriKind.Absolute, out var uri) || !IsAllowedResponseUrl(uri, settings.ApiBaseUri))
        {
            throw new PluginException(PluginName, "refused a response_url that is not on hooks.slack.com or the host of " + SlackSettings.ApiUrlKey);
        }

        var body = new JsonObject
        {
            ["text"] = text,
            ["response_type"] = inChannel ? "in_channel" : "ephemeral",
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = JsonBody(body) };
        var client = _httpClientFactory.CreateClient(ResponseUrlHttpClientName);
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            // The exception's message may name the address; keep it out of ours.
            throw new PluginException(PluginName, "the slash command's response_url could not be reached", null, ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PluginException(PluginName, "the slash command's response_url did not answer in time", null, ex);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var reason = await ReadShortAsync(response, cancellationToken);
                throw new PluginException(PluginName, $"the slash command's response_url refused the answer: HTTP {(int)response.StatusCode} {reason}".TrimEnd(), (int)response.StatusCode);
            }
        }

        LogResponded(_logger, inChannel ? "in_channel" : "ephemeral");
    }

    /// <summary>Whether a slash command's <c>response_url</c> may be posted to (Slack's hooks host, or the configured API host).</summary>
    internal static bool IsAllowedResponseUrl(Uri uri, Uri apiBase)
    {
        if (!uri.IsAbsoluteUri || !string.IsNullOrEmpty(uri.UserInfo))
        {
            return false;
        }

        if (uri.Scheme == Uri.UriSchemeHttps && string.Equals(uri.IdnHost, "hooks.slack.com", StringComparison.OrdinalIgnoreCase) && uri.IsDefaultPort)
        {
            return true;
        }

        return string.Equals(uri.Scheme, apiBase.Scheme, StringComparison.OrdinalIgnoreCase)
            && string.Equals(uri.IdnHost, apiBase.IdnHost, StringComparison.OrdinalIgnoreCase)
            && uri.Port == apiBase.Port;
    }

    /// <summary>
    /// The conversation ID for <paramref name="channel"/>: an ID (<c>C…</c>, <c>G…</c>, <c>D…</c>) as is, a name
    /// (<c>#backend</c> or <c>backend</c>) looked up in <c>conversations.list</c> (public and private channels the token
    /// can see, all pages) and cached. An unknown name is <c>channel_not_found</c>, as Slack answers.
    /// </summary>
    internal async Task<string> ChannelIdAsync(string channel, CancellationToken cancellationToken)
    {
        if (IsConversationId(channel))
        {
            return channel;
        }

        var name = ChannelName(channel);
        if (_channelIds.TryGetValue(name, out var cached))
        {
            return cached;
        }

        string? cursor = null;
        do
        {
            var answer = await CallAsync(HttpMethod.Get, "conversations.list", Query(("types", "public_channel,private_channel"), ("exclude_archived", "true"), ("limit", ListPageSize.ToString(CultureInfo.InvariantCulture)), ("cursor", cursor)), null, cancellationToken);
            foreach (var conversation in answer["channels"] is JsonArray channels ? channels.OfType<JsonObject>() : [])
            {
                if (Text(conversation, "name") is { } listedName && Text(conversation, "id") is { } id)
                {
                    _channelIds[listedName] = id;
                }
            }

            cursor = answer["response_metadata"] is JsonObject meta ? Text(meta, "next_cursor") : null;
        }
        while (!string.IsNullOrEmpty(cursor) && !_channelIds.ContainsKey(name));

        return _channelIds.TryGetValue(name, out var found)
            ? found
            : throw new PluginException(PluginName, $"conversations.list: no channel named '#{name}' is visible to the bot (channel_not_found); invite the bot or configure the channel ID", StatusFor("channel_not_found"));
    }

    /// <summary>Whether <paramref name="channel"/> is a conversation ID (Slack's IDs are upper-case letters and digits starting with C, G or D).</summary>
    internal static bool IsConversationId(string channel) =>
        channel.Length >= 2 && channel[0] is 'C' or 'G' or 'D' && channel.All(c => c is (>= 'A' and <= 'Z') or (>= '0' and <= '9'));

    private static string ChannelName(string channel) => channel.TrimStart('#');

    private async Task<string?> PermalinkAsync(string channel, string ts, CancellationToken cancellationToken)
    {
        // The link is a convenience: the message exists whatever happens here, so a failure only costs the URL.
        try
        {
            var answer = await CallAsync(HttpMethod.Get, "chat.getPermalink", Query(("channel", channel), ("message_ts", ts)), null, cancellationToken);
            return Text(answer, "permalink");
        }
        catch (PluginException ex)
        {
            LogNoPermalink(_logger, channel, ts, ex.Message);
            return null;
        }
    }

    /// <summary>Calls a Web API method; answers its JSON when <c>ok</c> is true, else throws a <see cref="PluginException"/>.</summary>
    private async Task<JsonObject> CallAsync(HttpMethod method, string apiMethod, string? query, JsonObject? body, CancellationToken cancellationToken)
    {
        var settings = CurrentSettings();
        if (!settings.IsConfigured)
        {
            throw new PluginException(PluginName, $"not configured ({SlackSettings.BotTokenKey} is not set)");
        }

        using var request = new HttpRequestMessage(method, new Uri(settings.ApiBaseUri, apiMethod + query));
        // chat.update sets a text: sending it twice changes nothing. chat.postMessage posts again (see IsRepeatable).
        request.Options.Set(PluginResilience.RepeatableWrite, apiMethod == "chat.update");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", settings.BotToken);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (body is not null)
        {
            request.Content = JsonBody(body);
        }

        var client = _httpClientFactory.CreateClient(HttpClientName);
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, cancellationToken);
        }
        catch (BrokenCircuitException ex)
        {
            throw new PluginException(PluginName, $"{apiMethod}: {ex.Message}", (int)HttpStatusCode.ServiceUnavailable, ex);
        }
        catch (TimeoutRejectedException ex)
        {
            throw new PluginException(PluginName, $"{apiMethod}: Slack did not answer in time", (int)HttpStatusCode.GatewayTimeout, ex);
        }
        catch (RateLimiterRejectedException ex)
        {
            throw new PluginException(PluginName, $"{apiMethod}: too many requests queued for Slack", (int)HttpStatusCode.TooManyRequests, ex);
        }
        catch (HttpRequestException ex)
        {
            throw new PluginException(PluginName, $"{apiMethod}: Slack could not be reached ({ex.HttpRequestError})", null, ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PluginException(PluginName, $"{apiMethod}: Slack did not answer in time", (int)HttpStatusCode.GatewayTimeout, ex);
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            JsonObject? json = null;
            try
            {
                json = JsonNode.Parse(text) as JsonObject;
            }
            catch (JsonException)
            {
            }

            var status = (int)response.StatusCode;
            var error = json is null ? null : Text(json, "error");
            if (!response.IsSuccessStatusCode)
            {
                LogFailed(_logger, apiMethod, status, error ?? "");
                var what = status == 429 ? "rate limited by Slack" : $"HTTP {status}";
                throw new PluginException(PluginName, $"{apiMethod} failed: {what}{(error is null ? "" : $" ({error})")}", status);
            }

            if (json is null)
            {
                throw new PluginException(PluginName, $"{apiMethod} answered something that is not a JSON object (HTTP {status})", status);
            }

            if (json["ok"]?.GetValueKind() != JsonValueKind.True)
            {
                error ??= "unknown_error";
                LogFailed(_logger, apiMethod, status, error);
                var detail = error == "missing_scope" && Text(json, "needed") is { } needed ? $" (needs scope {needed})" : "";
                throw new PluginException(PluginName, $"{apiMethod} failed: {error}{detail}", StatusFor(error));
            }

            return json;
        }
    }

    /// <summary>
    /// An HTTP-like status for Slack's error code, so callers can tell kinds apart (<see cref="PluginException.IsNotFound"/>
    /// for <c>channel_not_found</c>, <c>message_not_found</c>, <c>thread_not_found</c>).
    /// </summary>
    internal static int StatusFor(string error) => error switch
    {
        "not_authed" or "invalid_auth" or "token_revoked" or "token_expired" or "account_inactive" => 401,
        "missing_scope" or "not_in_channel" or "no_permission" or "restricted_action" or "cant_update_message" or "is_archived" or "ekm_access_denied" => 403,
        "ratelimited" or "rate_limited" => 429,
        "fatal_error" or "internal_error" or "service_unavailable" or "request_timeout" => 503,
        _ when error.EndsWith("_not_found", StringComparison.Ordinal) => 404,
        _ => 400,
    };

    private SlackSettings CurrentSettings()
    {
        try
        {
            return _settings.CurrentValue;
        }
        catch (OptionsValidationException ex)
        {
            // The validator's messages name the variable and never contain a secret's value.
            throw new PluginException(PluginName, "invalid settings: " + string.Join(" ", ex.Failures), null, ex);
        }
    }

    private static StringContent JsonBody(JsonObject body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var builder = new StringBuilder();
        foreach (var (name, value) in parameters)
        {
            if (value is null)
            {
                continue;
            }

            builder.Append(builder.Length == 0 ? '?' : '&').Append(name).Append('=').Append(Uri.EscapeDataString(value));
        }

        return builder.ToString();
    }

    private static IEnumerable<JsonObject> Messages(JsonObject answer) =>
        answer["messages"] is JsonArray messages ? messages.OfType<JsonObject>() : [];

    private static bool HasKey(JsonObject message, string idempotencyKey) =>
        message["metadata"] is JsonObject metadata
        && Text(metadata, "event_type") == MetadataEventType
        && metadata["event_payload"] is JsonObject payload
        && Text(payload, "idempotency_key") == idempotencyKey;

    private static string? Text(JsonObject json, string name) =>
        json[name] is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    private static PluginException Unexpected(string apiMethod, string field) =>
        new(PluginName, $"{apiMethod} answered without '{field}'");

    private static async Task<string> ReadShortAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = (await response.Content.ReadAsStringAsync(cancellationToken)).Trim();
        return text.Length <= 200 ? text : text[..200];
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Slack message {Ts} posted to {Channel}")]
    private static partial void LogPosted(ILogger logger, string channel, string ts);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Slack message {Ts} in {Channel} updated")]
    private static partial void LogUpdated(ILogger logger, string channel, string ts);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Slack slash command answered ({ResponseType})")]
    private static partial void LogResponded(ILogger logger, string responseType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack {Method} failed: HTTP {Status} {Error}")]
    private static partial void LogFailed(ILogger logger, string method, int status, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No permalink for Slack message {Ts} in {Channel}: {Reason}")]
    private static partial void LogNoPermalink(ILogger logger, string channel, string ts, string reason);
}
