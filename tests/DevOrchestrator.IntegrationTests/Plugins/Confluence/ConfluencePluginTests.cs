using System.Text;
using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.Plugins.Confluence;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.IntegrationTests.Plugins.Confluence;

/// <summary>The Confluence plugin against the fake Confluence Cloud REST v2 server, over real HTTP.</summary>
public sealed class ConfluencePluginTests
{
    private const string Pages = "/wiki/api/v2/pages";
    private const string Spaces = "/wiki/api/v2/spaces";

    [Fact]
    public async Task Creates_the_page_in_the_space_under_its_parent_with_a_storage_body()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeConfluenceServer.StartAsync(cancellationToken: ct);
        var spaceId = server.AddSpace("DOCS");
        var parent = server.AddPage("DOCS", "Delivery notes", "<p>index</p>");
        await using var services = ConfluenceTestHost.Build(server);
        var plugin = services.GetRequiredService<IDocumentationPlugin>();
        server.ClearRequests();

        var page = await plugin.CreateOrUpdatePageAsync(
            new DocumentPageDraft("DOCS", parent.Id, "Task 42: login & sessions", "<p>Login uses &lt;sessions&gt;.</p>"), ct);

        Assert.True(page.Created);
        Assert.Equal(1, page.Version);
        Assert.Equal("Task 42: login & sessions", page.Title);
        var stored = Assert.Single(server.Pages, p => p.Id == page.Id);
        Assert.Equal(spaceId, stored.SpaceId);
        Assert.Equal(parent.Id, stored.ParentId);
        Assert.Equal("<p>Login uses &lt;sessions&gt;.</p>", stored.Body);
        Assert.Equal(1, stored.Version);
        Assert.Equal($"{server.SiteUrl}/spaces/DOCS/pages/{page.Id}/Task+42%3A+login+%26+sessions", page.Url);

        Assert.Equal(3, server.Requests.Count);
        Assert.All(server.Requests, r => Assert.Equal(server.ExpectedAuthorization, r.Headers["Authorization"]));
        var space = Assert.Single(server.RequestsTo("GET", Spaces));
        Assert.Contains("keys=DOCS", space.Query, StringComparison.Ordinal);
        var find = Assert.Single(server.RequestsTo("GET", Pages));
        Assert.Contains($"space-id={spaceId}", find.Query, StringComparison.Ordinal);
        Assert.Contains("title=Task%2042%3A%20login%20%26%20sessions", find.Query, StringComparison.Ordinal);
        Assert.Contains("status=current", find.Query, StringComparison.Ordinal);
        Assert.Contains("body-format=storage", find.Query, StringComparison.Ordinal);

        var create = Assert.Single(server.RequestsTo("POST", Pages));
        Assert.Equal(200, create.StatusCode);
        Assert.StartsWith("application/json", create.Headers["Content-Type"], StringComparison.Ordinal);
        var json = create.Json!;
        Assert.Equal(spaceId, (string?)json["spaceId"]);
        Assert.Equal("current", (string?)json["status"]);
        Assert.Equal("Task 42: login & sessions", (string?)json["title"]);
        Assert.Equal(parent.Id, (string?)json["parentId"]);
        Assert.Equal("storage", (string?)json["body"]!["representation"]);
        Assert.Equal("<p>Login uses &lt;sessions&gt;.</p>", (string?)json["body"]!["value"]);
    }

    [Fact]
    public async Task The_same_title_again_updates_the_page_to_version_2_instead_of_making_a_second_page()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeConfluenceServer.StartAsync(cancellationToken: ct);
        server.AddSpace("DOCS");
        await using var services = ConfluenceTestHost.Build(server);
        var plugin = services.GetRequiredService<IDocumentationPlugin>();

        var first = await plugin.CreateOrUpdatePageAsync(new DocumentPageDraft("DOCS", null, "Release 1.2", "<p>draft</p>"), ct);
        var second = await plugin.CreateOrUpdatePageAsync(new DocumentPageDraft("DOCS", null, "Release 1.2", "<p>final</p>"), ct);

        Assert.True(first.Created);
        Assert.False(second.Created);
        Assert.Equal(first.Id, second.Id);
        Assert.Equal(2, second.Version);
        Assert.Equal(first.Url, second.Url);
        var stored = Assert.Single(server.Pages);
        Assert.Equal("<p>final</p>", stored.Body);
        Assert.Null(stored.ParentId);
        Assert.Equal([1, 2], stored.Versions.Select(v => v.Number));
        Assert.Equal(ConfluencePlugin.VersionMessage, stored.Versions[1].Message);

        Assert.Single(server.RequestsTo("POST", Pages));
        var put = Assert.Single(server.RequestsTo("PUT", Pages + "/*"));
        Assert.Equal($"{Pages}/{first.Id}", put.Path);
        Assert.Equal(server.ExpectedAuthorization, put.Headers["Authorization"]);
        var json = put.Json!;
        Assert.Equal(first.Id, (string?)json["id"]);
        Assert.Equal("current", (string?)json["status"]);
        Assert.Equal("Release 1.2", (string?)json["title"]);
        Assert.False(json.AsObject().ContainsKey("parentId"));
        Assert.Equal("storage", (string?)json["body"]!["representation"]);
        Assert.Equal("<p>final</p>", (string?)json["body"]!["value"]);
        Assert.Equal(2, (int)json["version"]!["number"]!);
        Assert.Equal("Updated by DevOrchestrator", (string?)json["version"]!["message"]);

        // The space key was looked up once and then cached.
        Assert.Single(server.RequestsTo("GET", Spaces));
    }

    [Fact]
    public async Task An_identical_body_is_not_written_again()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeConfluenceServer.StartAsync(cancellationToken: ct);
        server.AddSpace("DOCS");
        var existing = server.AddPage("DOCS", "Architecture", "<p>same</p>");
        await using var services = ConfluenceTestHost.Build(server);
        var plugin = services.GetRequiredService<IDocumentationPlugin>();

        var page = await plugin.CreateOrUpdatePageAsync(new DocumentPageDraft("DOCS", null, "Architecture", "<p>same</p>"), ct);

        Assert.False(page.Created);
        Assert.Equal(existing.Id, page.Id);
        Assert.Equal(1, page.Version);
        Assert.Equal($"{server.SiteUrl}/spaces/DOCS/pages/{existing.Id}/Architecture", page.Url);
        Assert.Empty(server.RequestsTo("PUT", Pages + "/*"));
        Assert.Empty(server.RequestsTo("POST", Pages));
        Assert.Equal(1, Assert.Single(server.Pages).Version);
    }

    [Fact]
    public async Task A_page_moved_to_another_parent_is_updated_even_when_its_body_is_unchanged()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeConfluenceServer.StartAsync(cancellationToken: ct);
        server.AddSpace("DOCS");
        var parent = server.AddPage("DOCS", "Parent", "<p>p</p>");
        var existing = server.AddPage("DOCS", "Child", "<p>same</p>");
        await using var services = ConfluenceTestHost.Build(server);
        var plugin = services.GetRequiredService<IDocumentationPlugin>();

        var page = await plugin.CreateOrUpdatePageAsync(new DocumentPageDraft("DOCS", parent.Id, "Child", "<p>same</p>"), ct);

        Assert.Equal(2, page.Version);
        var put = Assert.Single(server.RequestsTo("PUT", $"{Pages}/{existing.Id}"));
        Assert.Equal(parent.Id, (string?)put.Json!["parentId"]);
        Assert.Equal(parent.Id, server.Page(existing.Id)!.ParentId);
    }

    [Fact]
    public async Task A_version_conflict_rereads_the_page_and_retries_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeConfluenceServer.StartAsync(cancellationToken: ct);
        server.AddSpace("DOCS");
        var existing = server.AddPage("DOCS", "Runbook", "<p>v1</p>");
        server.EditBeforeNextUpdate(existing.Id, "<p>someone else's edit</p>");
        await using var services = ConfluenceTestHost.Build(server);
        var plugin = services.GetRequiredService<IDocumentationPlugin>();

        var page = await plugin.CreateOrUpdatePageAsync(new DocumentPageDraft("DOCS", null, "Runbook", "<p>ours</p>"), ct);

        Assert.False(page.Created);
        Assert.Equal(3, page.Version);
        var puts = server.RequestsTo("PUT", $"{Pages}/{existing.Id}");
        Assert.Equal(2, puts.Count);
        Assert.Equal(409, puts[0].StatusCode);
        Assert.Equal(2, (int)puts[0].Json!["version"]!["number"]!);
        Assert.Equal(200, puts[1].StatusCode);
        Assert.Equal(3, (int)puts[1].Json!["version"]!["number"]!);
        var reread = Assert.Single(server.RequestsTo("GET", $"{Pages}/{existing.Id}"));
        Assert.True(reread.Sequence > puts[0].Sequence && reread.Sequence < puts[1].Sequence);
        Assert.Contains("body-format=storage", reread.Query, StringComparison.Ordinal);

        var stored = server.Page(existing.Id)!;
        Assert.Equal("<p>ours</p>", stored.Body);
        Assert.Equal(["<p>v1</p>", "<p>someone else's edit</p>", "<p>ours</p>"], stored.Versions.Select(v => v.Body));
        Assert.Equal(FakeConfluenceServer.AccountId, stored.Versions[2].AuthorId);
    }

    [Fact]
    public async Task A_second_version_conflict_fails_with_the_vendors_message()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeConfluenceServer.StartAsync(cancellationToken: ct);
        server.AddSpace("DOCS");
        var existing = server.AddPage("DOCS", "Runbook", "<p>v1</p>");
        server.EditBeforeNextUpdate(existing.Id, "<p>busy editor</p>", times: 2);
        await using var services = ConfluenceTestHost.Build(server);
        var plugin = services.GetRequiredService<IDocumentationPlugin>();

        var ex = await Assert.ThrowsAsync<PluginException>(() =>
            plugin.CreateOrUpdatePageAsync(new DocumentPageDraft("DOCS", null, "Runbook", "<p>ours</p>"), ct));

        Assert.Equal(409, ex.StatusCode);
        Assert.Equal("confluence", ex.Plugin);
        Assert.Contains("Version must be incremented on update. Current version is: 3", ex.Message, StringComparison.Ordinal);
        Assert.Equal(2, server.RequestsTo("PUT", $"{Pages}/{existing.Id}").Count);
        Assert.Equal("<p>busy editor</p>", server.Page(existing.Id)!.Body);
    }

    [Fact]
    public async Task An_unknown_space_fails_as_not_found_without_writing()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeConfluenceServer.StartAsync(cancellationToken: ct);
        server.AddSpace("DOCS");
        await using var services = ConfluenceTestHost.Build(server);
        var plugin = services.GetRequiredService<IDocumentationPlugin>();

        var ex = await Assert.ThrowsAsync<PluginException>(() =>
            plugin.CreateOrUpdatePageAsync(new DocumentPageDraft("NOPE", null, "Title", "<p>x</p>"), ct));

        Assert.True(ex.IsNotFound);
        Assert.Contains("space NOPE not found", ex.Message, StringComparison.Ordinal);
        var request = Assert.Single(server.Requests);
        Assert.Equal(Spaces, request.Path);
        Assert.Contains("keys=NOPE", request.Query, StringComparison.Ordinal);
        Assert.Empty(server.Pages);
    }

    [Fact]
    public async Task Bad_credentials_fail_with_401_and_the_message_never_contains_the_token()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeConfluenceServer.StartAsync(cancellationToken: ct);
        server.AddSpace("DOCS");
        const string wrongToken = "wrong-confluence-token-0123456789";
        var settings = ConfluenceTestHost.SettingsFor(server);
        settings[ConfluenceSettings.ApiTokenKey] = wrongToken;
        await using var services = ConfluenceTestHost.Build(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        var plugin = services.GetRequiredService<ConfluencePlugin>();
        var sentCredential = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{server.Email}:{wrongToken}"));

        var connect = await Assert.ThrowsAsync<PluginException>(() => plugin.ConnectAsync(ct));
        var write = await Assert.ThrowsAsync<PluginException>(() =>
            plugin.CreateOrUpdatePageAsync(new DocumentPageDraft("DOCS", null, "Title", "<p>x</p>"), ct));
        var health = await plugin.CheckHealthAsync(ct);

        foreach (var ex in new[] { connect, write })
        {
            Assert.Equal(401, ex.StatusCode);
            Assert.Contains("CONFLUENCE_API_TOKEN", ex.Message, StringComparison.Ordinal);
            Assert.Contains("Client must be authenticated to access this resource.", ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(wrongToken, ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(sentCredential, ex.Message, StringComparison.Ordinal);
        }

        Assert.False(health.Healthy);
        Assert.DoesNotContain(wrongToken, health.Message, StringComparison.Ordinal);
        // A 401 is not retried: one request per call, each refused, each carrying the configured (wrong) credential.
        Assert.Equal(3, server.Requests.Count);
        Assert.All(server.Requests, r => Assert.Equal(401, r.StatusCode));
        Assert.All(server.Requests, r => Assert.Equal("Basic " + sentCredential, r.Headers["Authorization"]));
        Assert.Empty(server.Pages);
    }

    [Fact]
    public async Task Connect_and_health_make_one_cheap_authenticated_call()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeConfluenceServer.StartAsync(cancellationToken: ct);
        await using var services = ConfluenceTestHost.Build(server);
        var plugin = services.GetServices<IPlugin>().Single(p => p.Name == "confluence");

        var connection = await plugin.ConnectAsync(ct);
        var health = await plugin.CheckHealthAsync(ct);

        Assert.Equal(PluginTypes.Documentation, plugin.Type);
        Assert.True(plugin.IsConfigured);
        Assert.Equal($"{server.Email} on 127.0.0.1", connection.Identity);
        Assert.Equal(server.SiteUrl, connection.Details!["url"]);
        Assert.True(health.Healthy, health.Message);
        Assert.Equal(2, server.Requests.Count);
        Assert.All(server.Requests, r =>
        {
            Assert.Equal("GET", r.Method);
            Assert.Equal(Spaces, r.Path);
            Assert.Equal("?limit=1", r.Query);
            Assert.Equal(server.ExpectedAuthorization, r.Headers["Authorization"]);
            Assert.Equal(200, r.StatusCode);
        });
    }

    [Fact]
    public async Task Changed_settings_take_effect_on_the_next_call_without_a_restart()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeConfluenceServer.StartAsync(cancellationToken: ct);
        var settings = ConfluenceTestHost.SettingsFor(server);
        settings[ConfluenceSettings.ApiTokenKey] = "stale-confluence-token";
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        await using var services = ConfluenceTestHost.Build(configuration);
        var plugin = services.GetRequiredService<IDocumentationPlugin>();
        var before = await Assert.ThrowsAsync<PluginException>(() => plugin.ConnectAsync(ct));
        Assert.Equal(401, before.StatusCode);

        configuration[ConfluenceSettings.ApiTokenKey] = server.ApiToken;
        configuration.Reload();
        await plugin.ConnectAsync(ct);

        Assert.Equal([401, 200], server.Requests.Select(r => r.StatusCode));
        Assert.Equal(server.ExpectedAuthorization, server.Requests[1].Headers["Authorization"]);
    }

    [Fact]
    public async Task The_vendors_error_text_is_surfaced_for_a_refused_write()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeConfluenceServer.StartAsync(cancellationToken: ct);
        server.AddSpace("DOCS");
        await using var services = ConfluenceTestHost.Build(server);
        var plugin = services.GetRequiredService<IDocumentationPlugin>();

        var ex = await Assert.ThrowsAsync<PluginException>(() =>
            plugin.CreateOrUpdatePageAsync(new DocumentPageDraft("DOCS", "999999", "Orphan", "<p>x</p>"), ct));

        Assert.True(ex.IsNotFound);
        Assert.Contains("POST /pages", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Parent page 999999 not found in the space or not permitted (NOT_FOUND)", ex.Message, StringComparison.Ordinal);
        Assert.Equal(404, Assert.Single(server.RequestsTo("POST", Pages)).StatusCode);
        Assert.Empty(server.Pages);
    }

    [Fact]
    public async Task A_create_that_loses_a_race_for_the_title_updates_the_page_that_won()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeConfluenceServer.StartAsync(cancellationToken: ct);
        server.AddSpace("DOCS");
        server.CreateBeforeNextCreate("DOCS", "Release notes", "<p>theirs</p>");
        await using var services = ConfluenceTestHost.Build(server);
        var plugin = services.GetRequiredService<IDocumentationPlugin>();

        var page = await plugin.CreateOrUpdatePageAsync(new DocumentPageDraft("DOCS", null, "Release notes", "<p>ours</p>"), ct);

        Assert.False(page.Created);
        Assert.Equal(2, page.Version);
        var stored = Assert.Single(server.Pages);
        Assert.Equal(page.Id, stored.Id);
        Assert.Equal(["<p>theirs</p>", "<p>ours</p>"], stored.Versions.Select(v => v.Body));
        Assert.Equal(400, Assert.Single(server.RequestsTo("POST", Pages)).StatusCode);
        Assert.Equal(2, server.RequestsTo("GET", Pages).Count);
        Assert.Equal(200, Assert.Single(server.RequestsTo("PUT", $"{Pages}/{page.Id}")).StatusCode);
    }

    [Fact]
    public async Task A_refused_create_is_looked_for_once_more_and_then_reported_with_the_vendors_text()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeConfluenceServer.StartAsync(cancellationToken: ct);
        server.AddSpace("DOCS");
        await using var services = ConfluenceTestHost.Build(server);
        var plugin = services.GetRequiredService<IDocumentationPlugin>();

        var ex = await Assert.ThrowsAsync<PluginException>(() =>
            plugin.CreateOrUpdatePageAsync(new DocumentPageDraft("DOCS", null, new string('t', 300), "<p>x</p>"), ct));

        Assert.Equal(400, ex.StatusCode);
        Assert.Contains("Title cannot be longer than 255 characters. (INVALID_REQUEST_PARAMETER)", ex.Message, StringComparison.Ordinal);
        Assert.Equal(400, Assert.Single(server.RequestsTo("POST", Pages)).StatusCode);
        Assert.Equal(2, server.RequestsTo("GET", Pages).Count);
        Assert.Empty(server.Pages);
    }
}
