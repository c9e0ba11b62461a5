using System.Net;
using System.Net.Http.Json;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.IntegrationTests.Integrations;

/// <summary>
/// The plugin registry over HTTP: listing, stored configuration (encrypted, secrets write-only, taking effect without a
/// restart), validation of every offending field, the connect check, and the plugins in /health and /metrics.
/// </summary>
public sealed class PluginsApiTests
{
    [Fact]
    public async Task Plugins_are_listed_with_their_state_and_settings_and_secrets_are_never_shown()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var h = await IntegrationsHarness.StartAsync(Db.Sqlite, ct, new Dictionary<string, string?> { ["CONFLUENCE_URL"] = null, ["CONFLUENCE_API_TOKEN"] = null });

        using var response = await h.Client.GetAsync("/api/v1/plugins", ct);
        var body = await response.ReadJsonAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var plugins = body["data"]!.AsArray().ToDictionary(p => (string)p!["name"]!, p => p!);
        Assert.Equal("version_control", (string?)plugins["github"]["type"]);
        Assert.True((bool)plugins["github"]["configured"]!);
        Assert.True((bool)plugins["jira"]["configured"]!);
        Assert.True((bool)plugins["slack"]["configured"]!);
        Assert.False((bool)plugins["confluence"]["configured"]!);
        Assert.Equal("not_configured", (string?)plugins["confluence"]["status"]);
        Assert.Equal("closed", (string?)plugins["github"]["circuit_state"]);
        Assert.Contains("version_control.create_pull_request", plugins["github"]["actions"]!.AsArray().Select(a => (string)a!));
        var token = plugins["github"]["settings"]!.AsArray().Single(s => (string?)s!["key"] == "GITHUB_TOKEN")!;
        Assert.True((bool)token["secret"]!);
        Assert.True((bool)token["is_set"]!);
        Assert.Equal("environment", (string?)token["source"]);
        Assert.Equal("********", (string?)token["value"]);
        Assert.DoesNotContain(IntegrationsHarness.GitHubToken, body.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain(h.Jira.ApiToken, body.ToJsonString(), StringComparison.Ordinal);

        // The model providers are plugins too: listed, checked by listing their models (no tokens spent), not storable.
        Assert.Equal("ai_provider", (string?)plugins["anthropic"]["type"]);
        Assert.True((bool)plugins["anthropic"]["configured"]!);
        Assert.False((bool)plugins["openai"]["configured"]!);
        Assert.DoesNotContain(Agents.AgentHarness.AnthropicKey, body.ToJsonString(), StringComparison.Ordinal);
        using (var check = await h.Client.PostAsync("/api/v1/plugins/ai_provider/anthropic/check", null, ct))
        {
            var data = (await check.ReadJsonAsync())["data"]!;
            Assert.True((bool)data["connected"]!, data.ToJsonString());
            Assert.StartsWith("2 model(s) at 127.0.0.1:", (string?)data["identity"], StringComparison.Ordinal);
            Assert.True((bool)data["healthy"]!);
        }

        Assert.True(h.Model.ModelListings >= 1);
        Assert.Empty(h.Model.Requests); // no message was sent, nothing was billed
        using (var put = await h.Client.PutAsJsonAsync("/api/v1/plugins/ai_provider/anthropic/config", new Dictionary<string, object?> { ["ANTHROPIC_BASE_URL"] = "http://x" }, ct))
        {
            var error = await put.ReadJsonAsync();
            Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
            Assert.Contains("read at start", error["error"]!["details"]!["config"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Stored_configuration_is_encrypted_write_only_validated_and_used_without_a_restart()
    {
        var ct = TestContext.Current.CancellationToken;
        // GitHub starts unconfigured; the admin configures it through the API.
        await using var h = await IntegrationsHarness.StartAsync(Db.Postgres, ct, new Dictionary<string, string?> { ["GITHUB_TOKEN"] = null, ["ENCRYPTION_KEY"] = "an encryption key for the tests, long enough" });

        using (var check = await h.Client.PostAsync("/api/v1/plugins/version_control/github/check", null, ct))
        {
            var data = (await check.ReadJsonAsync())["data"]!;
            Assert.False((bool)data["configured"]!);
            Assert.Contains("GITHUB_TOKEN", (string?)data["message"], StringComparison.Ordinal);
        }

        // Every offending field is named, nothing is stored.
        using (var bad = await h.Client.PutAsJsonAsync("/api/v1/plugins/version_control/github/config",
                   new Dictionary<string, object?> { ["GITHUB_API_URL"] = "not a url", ["NOT_A_SETTING"] = "x" }, ct))
        {
            var error = await bad.ReadJsonAsync();
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Equal("VALIDATION_ERROR", (string?)error["error"]!["code"]);
            Assert.NotNull(error["error"]!["details"]!["NOT_A_SETTING"]);
        }

        using (var badUrl = await h.Client.PutAsJsonAsync("/api/v1/plugins/version_control/github/config",
                   new Dictionary<string, object?> { ["GITHUB_API_URL"] = "not a url" }, ct))
        {
            var error = await badUrl.ReadJsonAsync();
            Assert.Equal(HttpStatusCode.BadRequest, badUrl.StatusCode);
            Assert.NotNull(error["error"]!["details"]!["GITHUB_API_URL"]);
        }

        using (var missing = await h.Client.PutAsJsonAsync("/api/v1/plugins/version_control/nope/config", new Dictionary<string, object?> { ["X"] = "y" }, ct))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        var viewer = await h.Service.ClientForNewUserAsync("viewer", ct);
        using (var forbidden = await viewer.PutAsJsonAsync("/api/v1/plugins/version_control/github/config", new Dictionary<string, object?> { ["GITHUB_TOKEN"] = "x" }, ct))
        {
            Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        }

        Assert.Equal(0, await h.Service.WithDbAsync(db => db.PluginConfigs.CountAsync(ct)));

        // A good change: stored encrypted, shown masked, effective at once.
        using (var put = await h.Client.PutAsJsonAsync("/api/v1/plugins/version_control/github/config",
                   new Dictionary<string, object?> { ["GITHUB_TOKEN"] = IntegrationsHarness.GitHubToken }, ct))
        {
            var json = await put.ReadJsonAsync();
            Assert.True(put.StatusCode == HttpStatusCode.OK, json.ToJsonString());
            Assert.DoesNotContain(IntegrationsHarness.GitHubToken, json.ToJsonString(), StringComparison.Ordinal);
            var token = json["data"]!["settings"]!.AsArray().Single(s => (string?)s!["key"] == "GITHUB_TOKEN")!;
            Assert.Equal("stored", (string?)token["source"]);
            Assert.Equal("********", (string?)token["value"]);
            Assert.True((bool)json["data"]!["configured"]!);
        }

        var row = await h.Service.WithDbAsync(db => db.PluginConfigs.AsNoTracking().SingleAsync(ct));
        Assert.StartsWith("v1:", row.EncryptedValues, StringComparison.Ordinal);
        Assert.DoesNotContain(IntegrationsHarness.GitHubToken, row.EncryptedValues, StringComparison.Ordinal);

        using (var check = await h.Client.PostAsync("/api/v1/plugins/version_control/github/check", null, ct))
        {
            var data = (await check.ReadJsonAsync())["data"]!;
            Assert.True((bool)data["connected"]!, data.ToJsonString());
            Assert.Equal(h.GitHub.Login, (string?)data["identity"]);
        }

        var userCall = Assert.Single(h.GitHub.RequestsTo("GET", "/api/v3/user"));
        Assert.Contains(IntegrationsHarness.GitHubToken, userCall.Headers["Authorization"], StringComparison.Ordinal);

        // A restarted service reads the stored value back (decrypting with the same key).
        await h.RestartAsync(ct);
        using (var list = await h.Client.GetAsync("/api/v1/plugins/version_control/github/config", ct))
        {
            var data = (await list.ReadJsonAsync())["data"]!;
            Assert.True((bool)data["configured"]!);
        }

        // null removes the stored value: back to the environment's (none).
        using (var reset = await h.Client.PutAsJsonAsync("/api/v1/plugins/version_control/github/config", new Dictionary<string, object?> { ["GITHUB_TOKEN"] = null }, ct))
        {
            var data = (await reset.ReadJsonAsync())["data"]!;
            Assert.False((bool)data["configured"]!);
        }
    }

    [Fact]
    public async Task An_open_circuit_degrades_health_and_shows_in_the_metrics()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var h = await IntegrationsHarness.StartAsync(Db.Sqlite, ct, new Dictionary<string, string?>
        {
            ["CIRCUIT_BREAKER_THRESHOLD"] = "3",
            ["PLUGIN_RETRY_ATTEMPTS"] = "0",
        });

        using (var healthy = await h.Client.GetAsync("/health", ct))
        {
            var json = await healthy.ReadJsonAsync();
            Assert.Equal("healthy", (string?)json["status"]);
            foreach (var name in new[] { "github", "jira", "slack", "confluence", "anthropic", "openai" })
            {
                Assert.Equal("healthy", (string?)json["services"]![name]!["status"]);
            }
        }

        h.GitHub.Fail(500, count: 10, pathContains: "/api/v3/user");
        for (var i = 0; i < 3; i++)
        {
            using var check = await h.Client.PostAsync("/api/v1/plugins/version_control/github/check", null, ct);
            Assert.False((bool)(await check.ReadJsonAsync())["data"]!["healthy"]!);
        }

        var before = h.GitHub.Requests.Count;
        using (var refused = await h.Client.PostAsync("/api/v1/plugins/version_control/github/check", null, ct))
        {
            var data = (await refused.ReadJsonAsync())["data"]!;
            Assert.Equal("open", (string?)data["circuit_state"]);
            Assert.Contains("circuit", (string?)data["message"], StringComparison.OrdinalIgnoreCase);
        }

        Assert.Equal(before, h.GitHub.Requests.Count); // failed fast: the vendor was not called

        using (var degraded = await h.Client.GetAsync("/health", ct))
        {
            var json = await degraded.ReadJsonAsync();
            Assert.Equal(HttpStatusCode.OK, degraded.StatusCode);
            Assert.Equal("degraded", (string?)json["status"]);
            Assert.Equal("degraded", (string?)json["services"]!["github"]!["status"]);
            Assert.Contains("circuit open", (string?)json["services"]!["github"]!["message"], StringComparison.Ordinal);
            Assert.Equal("healthy", (string?)json["services"]!["jira"]!["status"]);
        }

        using var anonymous = new HttpClient { BaseAddress = h.Service.Address };
        var metrics = await anonymous.GetStringAsync("/metrics", ct);
        Assert.Contains("plugin_requests_total{plugin=\"github\",outcome=\"server_error\"} 3", metrics, StringComparison.Ordinal);
        Assert.Contains("plugin_requests_total{plugin=\"github\",outcome=\"circuit_open\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("circuit_breaker_state{plugin=\"github\"} 1", metrics, StringComparison.Ordinal);
    }
}
