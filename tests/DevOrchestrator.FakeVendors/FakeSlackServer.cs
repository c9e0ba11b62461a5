using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DevOrchestrator.FakeVendors;

/// <summary>
/// A fake of the Slack Web API (<c>{BaseUrl}api/{method}</c>) for the methods DevOrchestrator calls: <c>auth.test</c>,
/// <c>chat.postMessage</c>, <c>chat.update</c>, <c>chat.getPermalink</c>, <c>conversations.history</c>,
/// <c>conversations.replies</c>, <c>conversations.list</c>; plus slash command response URLs (<c>POST {BaseUrl}commands/…</c>, no auth), which it
/// records in <see cref="Responses"/>.
/// <para>
/// Like Slack: <c>Authorization: Bearer {BotToken}</c> is required (answered HTTP 200
/// <c>{"ok":false,"error":"not_authed"}</c> when absent, <c>invalid_auth</c> when wrong); errors are HTTP 200
/// <c>{"ok":false,"error":code}</c>; write methods take JSON bodies (form bodies are not emulated:
/// <c>invalid_form_data</c>), read methods query parameters; only <c>chat.postMessage</c> takes a channel name
/// (<c>#name</c> or <c>name</c>), every other method wants the conversation ID and answers <c>channel_not_found</c> for a
/// name, as Slack does; conversations must exist (<see cref="AddChannel"/>, else
/// <c>channel_not_found</c>) and have the bot as a member to be posted to (else <c>not_in_channel</c>); message
/// <c>metadata</c> is only returned with <c>include_all_metadata=true</c>; lists page with <c>limit</c> and
/// <c>cursor</c>. An injected 429 (<see cref="FakeVendorServer.Fail"/>) answers <c>{"ok":false,"error":"ratelimited"}</c>
/// with its <c>Retry-After</c>.
/// </para>
/// </summary>
public sealed class FakeSlackServer : FakeVendorServer
{
    public const string DefaultBotToken = "xoxb-fake-slack-bot-token";

    private readonly ConcurrentDictionary<string, FakeSlackChannel> _channels = new(StringComparer.Ordinal);
    private readonly List<FakeSlackResponse> _responses = [];
    private readonly Lock _lock = new();
    private long _tsSequence;

    private FakeSlackServer(string botToken) => BotToken = botToken;

    /// <summary>The only bearer token accepted.</summary>
    public string BotToken { get; }

    public string TeamId { get; } = "T0FAKE0001";
    public string TeamName { get; } = "Fake Workspace";
    public string BotUserId { get; } = "U0FAKEBOT1";
    public string BotUserName { get; } = "devorch";
    public string BotId { get; } = "B0FAKEBOT1";

    /// <summary>The workspace's web address (auth.test's <c>url</c>, and the base of permalinks).</summary>
    public Uri WorkspaceUrl { get; } = new("https://fake-workspace.slack.com/");

    /// <summary>The Web API's base address to configure (<c>SLACK_API_URL</c>).</summary>
    public Uri ApiUrl => new(BaseUrl, "api/");

    /// <summary>The conversations, by id.</summary>
    public IReadOnlyDictionary<string, FakeSlackChannel> Channels => _channels;

    /// <summary>What was posted to response URLs, in arrival order (a snapshot).</summary>
    public IReadOnlyList<FakeSlackResponse> Responses
    {
        get
        {
            lock (_lock)
            {
                return _responses.ToArray();
            }
        }
    }

    public static async Task<FakeSlackServer> StartAsync(string botToken = DefaultBotToken, CancellationToken cancellationToken = default)
    {
        var server = new FakeSlackServer(botToken);
        await server.StartAsync(cancellationToken);
        return server;
    }

    /// <summary>A response URL on this server, as Slack would put in a slash command (<c>{BaseUrl}commands/T…/…/…</c>).</summary>
    public Uri NewResponseUrl() => new(BaseUrl, $"commands/{TeamId}/{Random.Shared.NextInt64(1_000_000_000, 9_999_999_999)}/{Guid.NewGuid():N}");

    /// <summary>Adds a conversation (a public channel <c>C…</c>, private <c>G…</c>, DM <c>D…</c>); the bot is a member unless <paramref name="botIsMember"/> is false.</summary>
    public FakeSlackChannel AddChannel(string id, string name, bool botIsMember = true) =>
        _channels.GetOrAdd(id, _ => new FakeSlackChannel(id, name, botIsMember));

    /// <summary>Adds a message written by someone else (as if a user had posted it), optionally in a thread.</summary>
    public FakeSlackMessage AddUserMessage(string channel, string text, string user = "U0FAKEUSR1", string? threadTs = null, JsonObject? metadata = null)
    {
        var conversation = _channels.TryGetValue(channel, out var found) ? found : throw new InvalidOperationException($"no channel {channel}: AddChannel first");
        lock (_lock)
        {
            return conversation.Add(NextTs(), threadTs, text, user, null, metadata);
        }
    }

    /// <summary>The message <paramref name="ts"/> in <paramref name="channel"/>, or null.</summary>
    public FakeSlackMessage? Message(string channel, string ts) =>
        _channels.TryGetValue(channel, out var conversation) ? conversation.Find(ts) : null;

    protected override string? Authenticate(HttpRequest request)
    {
        if (request.Path.StartsWithSegments("/commands", StringComparison.Ordinal))
        {
            return null;
        }

        var header = request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            return "not_authed";
        }

        return string.Equals(header, "Bearer " + BotToken, StringComparison.Ordinal) ? null : "invalid_auth";
    }

    protected override Task WriteErrorAsync(HttpContext context, int statusCode, string message)
    {
        if (context.Request.Path.StartsWithSegments("/commands", StringComparison.Ordinal))
        {
            // Response URLs answer in plain text.
            context.Response.StatusCode = statusCode;
            context.Response.ContentType = "text/plain; charset=utf-8";
            return context.Response.WriteAsync(message, context.RequestAborted);
        }

        return statusCode switch
        {
            // Slack answers authentication and argument errors with HTTP 200 and ok=false.
            401 or 400 => WriteJsonAsync(context, 200, Error(IsErrorCode(message) ? message : "invalid_json")),
            429 => WriteJsonAsync(context, 429, Error("ratelimited")),
            404 => WriteJsonAsync(context, 404, Error("unknown_method")),
            >= 500 => WriteJsonAsync(context, statusCode, Error("internal_error")),
            _ => WriteJsonAsync(context, statusCode, Error(IsErrorCode(message) ? message : "invalid_request")),
        };
    }

    protected override void MapRoutes(WebApplication app)
    {
        app.MapMethods("/api/auth.test", ["GET", "POST"], AuthTest);
        app.MapPost("/api/chat.postMessage", PostMessage);
        app.MapPost("/api/chat.update", Update);
        app.MapGet("/api/chat.getPermalink", Permalink);
        app.MapGet("/api/conversations.history", History);
        app.MapGet("/api/conversations.replies", Replies);
        app.MapGet("/api/conversations.list", List);
        app.MapPost("/commands/{**rest}", Respond);
    }

    private Task AuthTest(HttpContext context) => Ok(context, new JsonObject
    {
        ["url"] = WorkspaceUrl.ToString(),
        ["team"] = TeamName,
        ["user"] = BotUserName,
        ["team_id"] = TeamId,
        ["user_id"] = BotUserId,
        ["bot_id"] = BotId,
        ["is_enterprise_install"] = false,
    });

    private Task PostMessage(HttpContext context)
    {
        var body = WriteBody(context);
        var channel = Channel(String(body["channel"]), forWriting: true, byName: true);
        var text = String(body["text"]);
        if (string.IsNullOrEmpty(text) && body["blocks"] is null && body["attachments"] is null)
        {
            throw Refuse("no_text");
        }

        if (text is { Length: > 40_000 })
        {
            throw Refuse("msg_too_long");
        }

        if (body["metadata"] is { } metadata && (metadata is not JsonObject meta || String(meta["event_type"]) is not { Length: > 0 } || meta["event_payload"] is not JsonObject))
        {
            throw Refuse("invalid_metadata_format");
        }

        var threadTs = String(body["thread_ts"]);
        FakeSlackMessage message;
        lock (_lock)
        {
            if (threadTs is not null)
            {
                // A reply to a reply goes to the thread of its parent.
                threadTs = (channel.Find(threadTs) ?? throw Refuse("thread_not_found")).ThreadTs ?? threadTs;
            }

            message = channel.Add(NextTs(), threadTs, text ?? "", BotUserId, BotId, body["metadata"] as JsonObject);
            message.UnfurlLinks = body["unfurl_links"] is JsonValue unfurl && unfurl.GetValueKind() == JsonValueKind.True;
        }

        return Ok(context, new JsonObject
        {
            ["channel"] = channel.Id,
            ["ts"] = message.Ts,
            ["message"] = message.ToJson(includeMetadata: false, channel),
        });
    }

    private Task Update(HttpContext context)
    {
        var body = WriteBody(context);
        var channel = Channel(body["channel"], forWriting: false);
        var ts = String(body["ts"]) ?? throw Refuse("invalid_arguments");
        var text = String(body["text"]);
        if (string.IsNullOrEmpty(text) && body["blocks"] is null && body["attachments"] is null)
        {
            throw Refuse("no_text");
        }

        FakeSlackMessage message;
        lock (_lock)
        {
            message = channel.Find(ts) ?? throw Refuse("message_not_found");
            if (message.BotId != BotId)
            {
                throw Refuse("cant_update_message");
            }

            message.Edit(text ?? "", NextTs());
        }

        return Ok(context, new JsonObject
        {
            ["channel"] = channel.Id,
            ["ts"] = message.Ts,
            ["text"] = message.Text,
            ["message"] = new JsonObject { ["text"] = message.Text, ["user"] = message.User },
        });
    }

    private Task Permalink(HttpContext context)
    {
        var channel = Channel(Query(context, "channel"), forWriting: false);
        var ts = Query(context, "message_ts") ?? throw Refuse("invalid_arguments");
        FakeSlackMessage message;
        lock (_lock)
        {
            message = channel.Find(ts) ?? throw Refuse("message_not_found");
        }

        var link = new Uri(WorkspaceUrl, $"archives/{channel.Id}/p{message.Ts.Replace(".", "", StringComparison.Ordinal)}").ToString();
        if (message.ThreadTs is { } thread && thread != message.Ts)
        {
            link += $"?thread_ts={thread}&cid={channel.Id}";
        }

        return Ok(context, new JsonObject { ["channel"] = channel.Id, ["permalink"] = link });
    }

    private Task History(HttpContext context)
    {
        var channel = Channel(Query(context, "channel"), forWriting: false);
        List<FakeSlackMessage> all;
        lock (_lock)
        {
            // Top-level messages (thread parents included, replies not), newest first.
            all = channel.Messages.Where(m => m.ThreadTs is null || m.ThreadTs == m.Ts).Reverse().ToList();
        }

        return Page(context, channel, all, extra: new JsonObject { ["pin_count"] = 0, ["channel_actions_ts"] = null, ["channel_actions_count"] = 0 });
    }

    private Task Replies(HttpContext context)
    {
        var channel = Channel(Query(context, "channel"), forWriting: false);
        var ts = Query(context, "ts") ?? throw Refuse("invalid_arguments");
        List<FakeSlackMessage> thread;
        lock (_lock)
        {
            var parent = channel.Find(ts) ?? throw Refuse("thread_not_found");
            var threadTs = parent.ThreadTs ?? parent.Ts;
            // The parent first, then its replies oldest first.
            thread = channel.Messages.Where(m => m.Ts == threadTs || m.ThreadTs == threadTs).ToList();
        }

        return Page(context, channel, thread, extra: null);
    }

    /// <summary>
    /// <c>conversations.list</c>: the channels of the requested <c>types</c> (default <c>public_channel</c>; private
    /// channels only where the bot is a member, as the token sees them), ordered by ID, paged with <c>limit</c> (at most
    /// 1000) and <c>cursor</c>.
    /// </summary>
    private Task List(HttpContext context)
    {
        var types = (Query(context, "types") ?? "public_channel").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (types.Any(t => t is not ("public_channel" or "private_channel" or "mpim" or "im")))
        {
            throw Refuse("invalid_types");
        }

        var limitText = Query(context, "limit");
        var limit = 100;
        if (limitText is not null && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > 1000))
        {
            throw Refuse("invalid_limit");
        }

        var offset = Offset(context);
        var visible = _channels.Values
            .Where(c => c.Id[0] switch
            {
                'C' => types.Contains("public_channel"),
                'G' => types.Contains("private_channel") && c.BotIsMember,
                'D' => types.Contains("im"),
                _ => false,
            })
            .OrderBy(c => c.Id, StringComparer.Ordinal)
            .ToList();
        var page = new JsonArray();
        foreach (var channel in visible.Skip(offset).Take(limit))
        {
            page.Add(new JsonObject
            {
                ["id"] = channel.Id,
                ["name"] = channel.Name,
                ["name_normalized"] = channel.Name,
                ["is_channel"] = channel.Id[0] == 'C',
                ["is_group"] = channel.Id[0] == 'G',
                ["is_im"] = channel.Id[0] == 'D',
                ["is_private"] = channel.Id[0] != 'C',
                ["is_archived"] = false,
                ["is_member"] = channel.BotIsMember,
                ["created"] = 1_700_000_000,
            });
        }

        var hasMore = offset + limit < visible.Count;
        return Ok(context, new JsonObject
        {
            ["channels"] = page,
            ["response_metadata"] = new JsonObject { ["next_cursor"] = hasMore ? Cursor(offset + limit) : "" },
        });
    }

    private Task Respond(HttpContext context)
    {
        var request = Current(context);
        if (request.Json is not JsonObject json || String(json["text"]) is null && json["blocks"] is null)
        {
            throw new BadVendorRequestException(400, "invalid_payload");
        }

        lock (_lock)
        {
            _responses.Add(new FakeSlackResponse(request.Path, String(json["text"]), String(json["response_type"]), json.DeepClone().AsObject(), request.Headers));
        }

        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync("ok", context.RequestAborted);
    }

    private Task Page(HttpContext context, FakeSlackChannel channel, List<FakeSlackMessage> messages, JsonObject? extra)
    {
        var limitText = Query(context, "limit");
        var limit = 100;
        if (limitText is not null && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1))
        {
            throw Refuse("invalid_limit");
        }

        limit = Math.Min(limit, 999);
        var offset = Offset(context);

        var includeMetadata = Query(context, "include_all_metadata") is "true" or "1";
        var page = new JsonArray();
        lock (_lock)
        {
            foreach (var message in messages.Skip(offset).Take(limit))
            {
                page.Add(message.ToJson(includeMetadata, channel));
            }
        }

        var hasMore = offset + limit < messages.Count;
        var answer = new JsonObject { ["messages"] = page, ["has_more"] = hasMore };
        foreach (var (name, value) in extra ?? [])
        {
            answer[name] = value?.DeepClone();
        }

        answer["response_metadata"] = new JsonObject
        {
            ["next_cursor"] = hasMore ? Cursor(offset + limit) : "",
        };
        return Ok(context, answer);
    }

    private static string Cursor(int offset) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"offset:{offset}"));

    /// <summary>The position a <c>cursor</c> query parameter stands for (0 without one); <c>invalid_cursor</c> when malformed.</summary>
    private static int Offset(HttpContext context)
    {
        if (Query(context, "cursor") is not { } cursor)
        {
            return 0;
        }

        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(cursor));
            return decoded.StartsWith("offset:", StringComparison.Ordinal) ? int.Parse(decoded["offset:".Length..], CultureInfo.InvariantCulture) : throw new FormatException();
        }
        catch (FormatException)
        {
            throw Refuse("invalid_cursor");
        }
    }

    private static JsonObject WriteBody(HttpContext context)
    {
        var request = Current(context);
        var contentType = request.Headers.TryGetValue("Content-Type", out var type) ? type : "";
        if (!contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            throw Refuse("invalid_form_data");
        }

        return request.Json as JsonObject ?? throw Refuse(request.Body.Length == 0 ? "invalid_arguments" : "json_not_object");
    }

    private FakeSlackChannel Channel(JsonNode? channelNode, bool forWriting) => Channel(String(channelNode), forWriting, byName: false);

    private FakeSlackChannel Channel(string? id, bool forWriting, bool byName = false)
    {
        if (string.IsNullOrEmpty(id))
        {
            throw Refuse(forWriting ? "channel_not_found" : "invalid_arguments");
        }

        // Only chat.postMessage resolves names; every other method wants the ID.
        var channel = _channels.TryGetValue(id, out var byId) ? byId
            : (byName ? _channels.Values.FirstOrDefault(c => "#" + c.Name == id || c.Name == id) : null) ?? throw Refuse("channel_not_found");
        if (forWriting && !channel.BotIsMember)
        {
            throw Refuse("not_in_channel");
        }

        return channel;
    }

    private string NextTs()
    {
        var n = Interlocked.Increment(ref _tsSequence);
        return $"{1_700_000_000 + n / 1_000_000}.{n % 1_000_000:D6}";
    }

    private static string? Query(HttpContext context, string name) =>
        context.Request.Query.TryGetValue(name, out var value) && value.ToString() is { Length: > 0 } text ? text : null;

    private static string? String(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    private static bool IsErrorCode(string message) => message.Length > 0 && message.All(c => c is (>= 'a' and <= 'z') or '_');

    private static BadVendorRequestException Refuse(string error) => new(400, error);

    private static JsonObject Error(string error) => new() { ["ok"] = false, ["error"] = error };

    private static Task Ok(HttpContext context, JsonObject answer)
    {
        var body = new JsonObject { ["ok"] = true };
        foreach (var (name, value) in answer.ToArray())
        {
            answer.Remove(name);
            body[name] = value;
        }

        return WriteJsonAsync(context, 200, body);
    }
}

/// <summary>A conversation of the fake: its messages in posting order (replies included, with their <c>thread_ts</c>).</summary>
public sealed class FakeSlackChannel(string id, string name, bool botIsMember)
{
    private readonly List<FakeSlackMessage> _messages = [];

    public string Id { get; } = id;
    public string Name { get; } = name;
    public bool BotIsMember { get; } = botIsMember;

    /// <summary>All messages, oldest first (a snapshot).</summary>
    public IReadOnlyList<FakeSlackMessage> Messages
    {
        get
        {
            lock (_messages)
            {
                return _messages.ToArray();
            }
        }
    }

    /// <summary>The replies in the thread of <paramref name="threadTs"/>, oldest first.</summary>
    public IReadOnlyList<FakeSlackMessage> Replies(string threadTs) =>
        Messages.Where(m => m.ThreadTs == threadTs && m.Ts != threadTs).ToArray();

    internal FakeSlackMessage? Find(string ts)
    {
        lock (_messages)
        {
            return _messages.FirstOrDefault(m => m.Ts == ts);
        }
    }

    internal FakeSlackMessage Add(string ts, string? threadTs, string text, string user, string? botId, JsonObject? metadata)
    {
        var message = new FakeSlackMessage(ts, threadTs, text, user, botId, (JsonObject?)metadata?.DeepClone());
        lock (_messages)
        {
            if (threadTs is not null && _messages.FirstOrDefault(m => m.Ts == threadTs) is { } parent)
            {
                parent.AddReply(ts);
            }

            _messages.Add(message);
        }

        return message;
    }
}

/// <summary>A message of the fake, with its edit history.</summary>
public sealed class FakeSlackMessage(string ts, string? threadTs, string text, string user, string? botId, JsonObject? metadata)
{
    private readonly List<string> _previousTexts = [];
    private readonly List<string> _replyTs = [];

    public string Ts { get; } = ts;

    /// <summary>The thread: the parent's ts for a reply, its own ts for a parent with replies, else null.</summary>
    public string? ThreadTs { get; private set; } = threadTs;
    public string Text { get; private set; } = text;
    public string User { get; } = user;
    public string? BotId { get; } = botId;

    /// <summary>The <c>metadata</c> posted with the message (<c>event_type</c>, <c>event_payload</c>), or null.</summary>
    public JsonObject? Metadata { get; } = metadata;

    /// <summary>Whether <c>unfurl_links</c> was true when posted.</summary>
    public bool UnfurlLinks { get; internal set; }

    /// <summary>The texts it had before each <c>chat.update</c>, oldest first.</summary>
    public IReadOnlyList<string> PreviousTexts => _previousTexts.ToArray();

    public string? EditedTs { get; private set; }

    /// <summary>The idempotency key in the metadata's payload, or null.</summary>
    public string? IdempotencyKey => Metadata?["event_payload"]?["idempotency_key"] is JsonValue key && key.GetValueKind() == JsonValueKind.String ? key.GetValue<string>() : null;

    internal void Edit(string text, string editedTs)
    {
        _previousTexts.Add(Text);
        Text = text;
        EditedTs = editedTs;
    }

    internal void AddReply(string ts)
    {
        ThreadTs ??= Ts;
        _replyTs.Add(ts);
    }

    internal JsonObject ToJson(bool includeMetadata, FakeSlackChannel channel)
    {
        var json = new JsonObject { ["type"] = "message", ["user"] = User, ["text"] = Text, ["ts"] = Ts };
        if (BotId is not null)
        {
            json["bot_id"] = BotId;
        }

        if (ThreadTs is not null)
        {
            json["thread_ts"] = ThreadTs;
        }

        if (ThreadTs == Ts)
        {
            json["reply_count"] = _replyTs.Count;
            json["latest_reply"] = _replyTs.LastOrDefault();
            json["subscribed"] = false;
        }
        else if (ThreadTs is not null && channel.Find(ThreadTs) is { } parent)
        {
            json["parent_user_id"] = parent.User;
        }

        if (EditedTs is not null)
        {
            json["edited"] = new JsonObject { ["user"] = User, ["ts"] = EditedTs };
        }

        if (includeMetadata && Metadata is not null)
        {
            json["metadata"] = Metadata.DeepClone();
        }

        return json;
    }
}

/// <summary>A message posted to a slash command's response URL.</summary>
public sealed record FakeSlackResponse(string Path, string? Text, string? ResponseType, JsonObject Json, IReadOnlyDictionary<string, string> Headers);
