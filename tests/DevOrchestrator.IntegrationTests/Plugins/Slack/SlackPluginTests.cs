using System.Text.Json.Nodes;
using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.Plugins.Slack;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.IntegrationTests.Plugins.Slack;

/// <summary>The Slack plugin against the fake Slack Web API over real HTTP.</summary>
public sealed class SlackPluginTests
{
    private const string Channel = SlackTestHost.Channel;

    [Fact]
    public async Task Post_sends_a_json_message_with_the_bearer_token_and_the_idempotency_key_as_metadata()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await SlackTestHost.StartAsync(ct);

        var posted = await host.Plugin.PostMessageAsync(new ChatMessageDraft(Channel, "Task 42 started: add a /health endpoint"), "task-42:notify", ct);

        var request = Assert.Single(host.Server.RequestsTo("POST", "/api/chat.postMessage"));
        Assert.Equal($"Bearer {FakeSlackServer.DefaultBotToken}", request.Headers["Authorization"]);
        Assert.Equal("application/json; charset=utf-8", request.Headers["Content-Type"]);
        Assert.Equal("", request.Query);
        var body = Assert.IsType<JsonObject>(request.Json);
        Assert.Equal(Channel, (string?)body["channel"]);
        Assert.Equal("Task 42 started: add a /health endpoint", (string?)body["text"]);
        Assert.False((bool)body["unfurl_links"]!);
        Assert.False(body.ContainsKey("thread_ts"));
        Assert.Equal("devorch_message", (string?)body["metadata"]!["event_type"]);
        Assert.Equal("task-42:notify", (string?)body["metadata"]!["event_payload"]!["idempotency_key"]);
        Assert.Equal(200, request.StatusCode);

        // The permalink is asked for with query parameters, never the token.
        var permalink = Assert.Single(host.Server.RequestsTo("GET", "/api/chat.getPermalink"));
        Assert.Equal($"?channel={Channel}&message_ts={posted.MessageId}", permalink.Query);
        Assert.Equal($"Bearer {FakeSlackServer.DefaultBotToken}", permalink.Headers["Authorization"]);

        var stored = Assert.Single(host.Server.Channels[Channel].Messages);
        Assert.Equal(stored.Ts, posted.MessageId);
        Assert.Equal(Channel, posted.Channel);
        Assert.Equal(posted.MessageId, posted.ThreadId);
        Assert.True(posted.Created);
        Assert.Equal($"https://fake-workspace.slack.com/archives/{Channel}/p{stored.Ts.Replace(".", "", StringComparison.Ordinal)}", posted.Url);
        Assert.Equal("task-42:notify", stored.IdempotencyKey);
        Assert.Null(stored.ThreadTs);
        Assert.False(stored.UnfurlLinks);
        Assert.Equal(host.Server.BotId, stored.BotId);
    }

    [Fact]
    public async Task A_reply_goes_to_the_thread_and_reports_the_thread()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await SlackTestHost.StartAsync(ct);
        var parent = await host.Plugin.PostMessageAsync(new ChatMessageDraft(Channel, "Task 7 started"), "task-7:start", ct);

        var reply = await host.Plugin.PostMessageAsync(new ChatMessageDraft(Channel, "Pull request opened", parent.ThreadId), "task-7:pr", ct);

        var request = host.Server.RequestsTo("POST", "/api/chat.postMessage")[1];
        Assert.Equal(parent.MessageId, (string?)request.Json!["thread_ts"]);
        Assert.NotEqual(parent.MessageId, reply.MessageId);
        Assert.Equal(parent.MessageId, reply.ThreadId);
        Assert.Contains($"thread_ts={parent.MessageId}", reply.Url, StringComparison.Ordinal);
        var stored = Assert.Single(host.Server.Channels[Channel].Replies(parent.MessageId));
        Assert.Equal(reply.MessageId, stored.Ts);
        Assert.Equal("Pull request opened", stored.Text);
        Assert.Equal("task-7:pr", stored.IdempotencyKey);
    }

    [Fact]
    public async Task Update_replaces_the_text_of_the_message()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await SlackTestHost.StartAsync(ct);
        var posted = await host.Plugin.PostMessageAsync(new ChatMessageDraft(Channel, "Task 9: running"), "task-9:status", ct);

        var updated = await host.Plugin.UpdateMessageAsync(posted, "Task 9: done ✅", ct);

        var request = Assert.Single(host.Server.RequestsTo("POST", "/api/chat.update"));
        Assert.Equal($"Bearer {FakeSlackServer.DefaultBotToken}", request.Headers["Authorization"]);
        Assert.StartsWith("application/json", request.Headers["Content-Type"], StringComparison.Ordinal);
        Assert.Equal(Channel, (string?)request.Json!["channel"]);
        Assert.Equal(posted.MessageId, (string?)request.Json["ts"]);
        Assert.Equal("Task 9: done ✅", (string?)request.Json["text"]);
        Assert.Equal(posted with { Created = false }, updated);
        var stored = host.Server.Message(Channel, posted.MessageId)!;
        Assert.Equal("Task 9: done ✅", stored.Text);
        Assert.Equal(["Task 9: running"], stored.PreviousTexts);
        Assert.NotNull(stored.EditedTs);
    }

    [Fact]
    public async Task Find_in_a_channel_matches_the_metadata_key_and_answers_null_when_absent()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await SlackTestHost.StartAsync(ct);
        var first = await host.Plugin.PostMessageAsync(new ChatMessageDraft(Channel, "one"), "key-1", ct);
        var second = await host.Plugin.PostMessageAsync(new ChatMessageDraft(Channel, "two"), "key-2", ct);
        // Someone else's message with look-alike metadata of another app is not ours.
        host.Server.AddUserMessage(Channel, "imposter", metadata: new JsonObject { ["event_type"] = "other_app", ["event_payload"] = new JsonObject { ["idempotency_key"] = "key-3" } });
        host.Server.ClearRequests();

        var found = await host.Plugin.FindMessageAsync(Channel, null, "key-1", ct);
        var missing = await host.Plugin.FindMessageAsync(Channel, null, "key-3", ct);

        Assert.NotNull(found);
        Assert.Equal(first.MessageId, found.MessageId);
        Assert.Equal(first.MessageId, found.ThreadId);
        Assert.Equal(first.Url, found.Url);
        Assert.False(found.Created);
        Assert.NotEqual(second.MessageId, found.MessageId);
        Assert.Null(missing);
        var history = host.Server.RequestsTo("GET", "/api/conversations.history");
        Assert.Equal(2, history.Count);
        Assert.All(history, r =>
        {
            Assert.Equal($"?channel={Channel}&limit=200&include_all_metadata=true", r.Query);
            Assert.Equal($"Bearer {FakeSlackServer.DefaultBotToken}", r.Headers["Authorization"]);
        });
        Assert.Empty(host.Server.RequestsTo("POST", "/api/chat.postMessage"));
    }

    [Fact]
    public async Task Find_in_a_thread_reads_the_replies_page_by_page()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await SlackTestHost.StartAsync(ct);
        var parent = await host.Plugin.PostMessageAsync(new ChatMessageDraft(Channel, "Task 3 started"), "task-3:start", ct);
        // 250 replies, so the newest (ours) is on the second page of 200.
        for (var i = 0; i < 249; i++)
        {
            host.Server.AddUserMessage(Channel, $"chatter {i}", threadTs: parent.MessageId);
        }

        var reply = await host.Plugin.PostMessageAsync(new ChatMessageDraft(Channel, "Task 3 done", parent.ThreadId), "task-3:done", ct);
        host.Server.ClearRequests();

        var found = await host.Plugin.FindMessageAsync(Channel, parent.ThreadId, "task-3:done", ct);
        var notInThread = await host.Plugin.FindMessageAsync(Channel, parent.ThreadId, "task-4:done", ct);

        Assert.NotNull(found);
        Assert.Equal(reply.MessageId, found.MessageId);
        Assert.Equal(parent.MessageId, found.ThreadId);
        Assert.Null(notInThread);
        var replies = host.Server.RequestsTo("GET", "/api/conversations.replies");
        Assert.Equal(4, replies.Count);
        Assert.Equal($"?channel={Channel}&ts={parent.MessageId}&limit=200&include_all_metadata=true", replies[0].Query);
        Assert.Contains("&cursor=", replies[1].Query, StringComparison.Ordinal);
        Assert.Empty(host.Server.RequestsTo("GET", "/api/conversations.history"));
    }

    [Fact]
    public async Task The_fake_like_slack_refuses_a_channel_name_where_an_id_is_required()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await SlackTestHost.StartAsync(ct);
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", FakeSlackServer.DefaultBotToken);

        var history = JsonNode.Parse(await http.GetStringAsync(new Uri(host.Server.ApiUrl, "conversations.history?channel=%23" + SlackTestHost.ChannelName), ct))!;
        var byId = JsonNode.Parse(await http.GetStringAsync(new Uri(host.Server.ApiUrl, "conversations.history?channel=" + Channel), ct))!;

        Assert.False((bool)history["ok"]!);
        Assert.Equal("channel_not_found", (string?)history["error"]);
        Assert.True((bool)byId["ok"]!);
    }

    [Theory]
    [InlineData("#" + SlackTestHost.ChannelName)]
    [InlineData(SlackTestHost.ChannelName)]
    public async Task A_channel_configured_by_name_is_resolved_to_its_id_once_for_the_methods_that_need_ids(string name)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await SlackTestHost.StartAsync(ct);
        // More channels than one page of conversations.list would hold if it were small: the name is found among others.
        host.Server.AddChannel("C0OTHER001", "other");
        host.Server.AddChannel("G0PRIVATE2", "private-team");

        // Recovery before the first post (the task's thread root is looked up first): history needs the ID.
        var before = await host.Plugin.FindMessageAsync(name, null, "task-5:thread", ct);
        var root = await host.Plugin.PostMessageAsync(new ChatMessageDraft(name, "Task 5 started"), "task-5:thread", ct);
        var found = await host.Plugin.FindMessageAsync(name, null, "task-5:thread", ct);
        var reply = await host.Plugin.PostMessageAsync(new ChatMessageDraft(name, "step done", root.ThreadId), "task-5:step", ct);
        var inThread = await host.Plugin.FindMessageAsync(name, root.ThreadId, "task-5:step", ct);
        var updated = await host.Plugin.UpdateMessageAsync(found! with { Channel = name }, "Task 5 done", ct);

        Assert.Null(before);
        Assert.Equal(Channel, root.Channel);
        Assert.Equal(root.MessageId, found!.MessageId);
        Assert.Equal(Channel, found.Channel);
        Assert.Equal(reply.MessageId, inThread!.MessageId);
        Assert.Equal("Task 5 done", host.Server.Message(Channel, root.MessageId)!.Text);
        Assert.Equal(Channel, updated.Channel);
        // Every ID-only method was called with the ID, and the names were listed once (then cached).
        var list = Assert.Single(host.Server.RequestsTo("GET", "/api/conversations.list"));
        Assert.Equal("?types=public_channel%2Cprivate_channel&exclude_archived=true&limit=1000", list.Query);
        Assert.All(host.Server.RequestsTo("GET", "/api/conversations.history"), r => Assert.StartsWith($"?channel={Channel}&", r.Query, StringComparison.Ordinal));
        Assert.All(host.Server.RequestsTo("GET", "/api/conversations.replies"), r => Assert.StartsWith($"?channel={Channel}&", r.Query, StringComparison.Ordinal));
        Assert.All(host.Server.RequestsTo("GET", "/api/chat.getPermalink"), r => Assert.StartsWith($"?channel={Channel}&", r.Query, StringComparison.Ordinal));
        Assert.Equal(Channel, (string?)Assert.Single(host.Server.RequestsTo("POST", "/api/chat.update")).Json!["channel"]);
    }

    [Fact]
    public async Task An_unknown_channel_name_is_channel_not_found_without_a_history_call()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await SlackTestHost.StartAsync(ct);

        var ex = await Assert.ThrowsAsync<PluginException>(() => host.Plugin.FindMessageAsync("#nowhere", null, "k", ct));

        Assert.True(ex.IsNotFound);
        Assert.Contains("channel_not_found", ex.Message, StringComparison.Ordinal);
        Assert.Contains("#nowhere", ex.Message, StringComparison.Ordinal);
        Assert.Empty(host.Server.RequestsTo("GET", "/api/conversations.history"));
    }

    [Fact]
    public async Task An_unknown_channel_is_a_plugin_error_with_channel_not_found()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await SlackTestHost.StartAsync(ct);

        var ex = await Assert.ThrowsAsync<PluginException>(() => host.Plugin.PostMessageAsync(new ChatMessageDraft("C0NOWHERE1", "hello"), "k", ct));

        Assert.Equal("slack", ex.Plugin);
        Assert.Contains("chat.postMessage", ex.Message, StringComparison.Ordinal);
        Assert.Contains("channel_not_found", ex.Message, StringComparison.Ordinal);
        Assert.True(ex.IsNotFound);
        Assert.Single(host.Server.RequestsTo("POST", "/api/chat.postMessage"));
        Assert.Empty(host.Server.RequestsTo("GET", "/api/chat.getPermalink"));
    }

    [Fact]
    public async Task A_channel_the_bot_is_not_in_is_not_in_channel()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await SlackTestHost.StartAsync(ct);
        host.Server.AddChannel("C0PRIVATE1", "private", botIsMember: false);

        var ex = await Assert.ThrowsAsync<PluginException>(() => host.Plugin.PostMessageAsync(new ChatMessageDraft("C0PRIVATE1", "hello"), "k", ct));

        Assert.Contains("not_in_channel", ex.Message, StringComparison.Ordinal);
        Assert.Equal(403, ex.StatusCode);
        Assert.Empty(host.Server.Channels["C0PRIVATE1"].Messages);
    }

    [Fact]
    public async Task A_bad_token_is_invalid_auth_and_the_token_is_not_in_the_message_nor_the_logs()
    {
        var ct = TestContext.Current.CancellationToken;
        const string wrongToken = "xoxb-wrong-token-for-test";
        await using var host = await SlackTestHost.StartAsync(ct, botToken: wrongToken);

        var ex = await Assert.ThrowsAsync<PluginException>(() => host.Plugin.PostMessageAsync(new ChatMessageDraft(Channel, "hello"), "k", ct));
        var health = await host.Plugin.CheckHealthAsync(ct);

        Assert.Contains("invalid_auth", ex.Message, StringComparison.Ordinal);
        Assert.Equal(401, ex.StatusCode);
        Assert.DoesNotContain(wrongToken, ex.ToString(), StringComparison.Ordinal);
        Assert.False(health.Healthy);
        Assert.Contains("invalid_auth", health.Message, StringComparison.Ordinal);
        Assert.All(host.Server.Requests, r => Assert.Equal($"Bearer {wrongToken}", r.Headers["Authorization"]));
        Assert.Equal(2, host.Server.Requests.Count);
        Assert.NotEmpty(host.Logs.Lines);
        Assert.DoesNotContain(host.Logs.Lines, line => line.Contains(wrongToken, StringComparison.Ordinal) || line.Contains("xoxb-", StringComparison.Ordinal));
        Assert.Empty(host.Server.Channels[Channel].Messages);
    }

    [Fact]
    public async Task Connect_and_health_use_auth_test()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await SlackTestHost.StartAsync(ct);

        var connection = await host.Plugin.ConnectAsync(ct);
        var health = await host.Plugin.CheckHealthAsync(ct);

        Assert.Equal("devorch in Fake Workspace", connection.Identity);
        Assert.Equal("T0FAKE0001", connection.Details!["team_id"]);
        Assert.Equal("B0FAKEBOT1", connection.Details["bot_id"]);
        Assert.Equal("U0FAKEBOT1", connection.Details["user_id"]);
        Assert.True(health.Healthy);
        Assert.Contains("Fake Workspace", health.Message, StringComparison.Ordinal);
        var requests = host.Server.RequestsTo("GET", "/api/auth.test");
        Assert.Equal(2, requests.Count);
        Assert.All(requests, r => Assert.Equal($"Bearer {FakeSlackServer.DefaultBotToken}", r.Headers["Authorization"]));
    }

    [Fact]
    public async Task A_token_changed_in_the_configuration_is_used_by_the_next_call()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await SlackTestHost.StartAsync(ct, botToken: "xoxb-old-token-for-test");
        await Assert.ThrowsAsync<PluginException>(() => host.Plugin.ConnectAsync(ct));

        host.Configuration["SLACK_BOT_TOKEN"] = FakeSlackServer.DefaultBotToken;
        host.Configuration.Reload();
        var connection = await host.Plugin.ConnectAsync(ct);

        Assert.Equal("devorch in Fake Workspace", connection.Identity);
        Assert.Equal(["Bearer xoxb-old-token-for-test", $"Bearer {FakeSlackServer.DefaultBotToken}"], host.Server.Requests.Select(r => r.Headers["Authorization"]));
    }

    [Fact]
    public async Task An_unconfigured_plugin_says_so_without_calling_slack()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await SlackTestHost.StartAsync(ct, botToken: null);

        var ex = await Assert.ThrowsAsync<PluginException>(() => host.Plugin.PostMessageAsync(new ChatMessageDraft(Channel, "hello"), "k", ct));
        var health = await host.Plugin.CheckHealthAsync(ct);

        Assert.False(host.Plugin.IsConfigured);
        Assert.Contains("SLACK_BOT_TOKEN", ex.Message, StringComparison.Ordinal);
        Assert.False(health.Healthy);
        Assert.Empty(host.Server.Requests);
    }

    [Fact]
    public async Task Respond_posts_to_the_response_url_without_credentials_and_never_logs_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await SlackTestHost.StartAsync(ct);
        var responseUrl = host.Server.NewResponseUrl();

        await host.Plugin.RespondAsync(responseUrl.ToString(), "Task 12 queued", inChannel: true, ct);
        await host.Plugin.RespondAsync(responseUrl.ToString(), "only you can see this", inChannel: false, ct);

        var responses = host.Server.Responses;
        Assert.Equal(2, responses.Count);
        Assert.All(responses, r => Assert.Equal(responseUrl.AbsolutePath, r.Path));
        Assert.Equal(("Task 12 queued", "in_channel"), (responses[0].Text, responses[0].ResponseType));
        Assert.Equal(("only you can see this", "ephemeral"), (responses[1].Text, responses[1].ResponseType));
        Assert.All(responses, r =>
        {
            Assert.False(r.Headers.ContainsKey("Authorization"));
            Assert.StartsWith("application/json", r.Headers["Content-Type"], StringComparison.Ordinal);
        });
        var secretPart = responseUrl.Segments[^1];
        Assert.NotEmpty(host.Logs.Lines);
        Assert.DoesNotContain(host.Logs.Lines, line => line.Contains(secretPart, StringComparison.Ordinal) || line.Contains("/commands/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Respond_reports_a_refusal_without_the_url()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await SlackTestHost.StartAsync(ct);
        var responseUrl = host.Server.NewResponseUrl();
        host.Server.Fail(404, pathContains: "/commands/");

        var ex = await Assert.ThrowsAsync<PluginException>(() => host.Plugin.RespondAsync(responseUrl.ToString(), "hi", inChannel: false, ct));

        Assert.Equal(404, ex.StatusCode);
        Assert.DoesNotContain(responseUrl.Segments[^1], ex.ToString(), StringComparison.Ordinal);
        // No retry: a response URL takes few uses.
        Assert.Single(host.Server.Requests);
    }

    [Theory]
    [InlineData("https://evil.example.com/commands/T1/2/abc")]
    [InlineData("http://hooks.slack.com/commands/T1/2/abc")]
    [InlineData("https://hooks.slack.com.evil.example.com/commands/T1/2/abc")]
    [InlineData("https://user:pass@hooks.slack.com/commands/T1/2/abc")]
    [InlineData("file:///etc/passwd")]
    [InlineData("not a url")]
    public async Task Respond_refuses_a_url_on_a_foreign_host(string url)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await SlackTestHost.StartAsync(ct);

        var ex = await Assert.ThrowsAsync<PluginException>(() => host.Plugin.RespondAsync(url, "hi", inChannel: true, ct));

        Assert.Contains("refused", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("abc", ex.Message, StringComparison.Ordinal);
        Assert.Empty(host.Server.Requests);
    }

    [Fact]
    public async Task Respond_refuses_another_port_of_the_api_host()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await SlackTestHost.StartAsync(ct);
        await using var other = await FakeSlackServer.StartAsync(cancellationToken: ct);

        await Assert.ThrowsAsync<PluginException>(() => host.Plugin.RespondAsync(other.NewResponseUrl().ToString(), "hi", inChannel: true, ct));

        Assert.Empty(other.Responses);
        Assert.Empty(other.Requests);
    }

    [Fact]
    public async Task Adding_the_plugin_twice_registers_it_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await SlackTestHost.StartAsync(ct);
        var telemetry = new RecordingPluginTelemetry();
        var services = new ServiceCollection();
        services.AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(host.Configuration);
        services.AddLogging();
        services.AddSingleton(new PluginResilienceOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(20), RateLimitingEnabled = false });
        services.AddSingleton<IPluginTelemetry>(telemetry);
        services.AddSlack().AddSlack();
        await using var provider = services.BuildServiceProvider();

        var plugin = Assert.Single(provider.GetServices<IPlugin>());
        var communication = Assert.Single(provider.GetServices<ICommunicationPlugin>());
        Assert.Same(provider.GetRequiredService<SlackPlugin>(), plugin);
        Assert.Same(plugin, communication);
        Assert.Equal(("communication", "slack"), (plugin.Type, plugin.Name));

        await plugin.ConnectAsync(ct);

        Assert.Single(host.Server.Requests);
        Assert.Equal([("slack", PluginOutcomes.Success)], telemetry.Outcomes);
    }
}
