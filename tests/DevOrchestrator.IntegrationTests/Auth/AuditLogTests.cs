using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.IntegrationTests.Infrastructure;

namespace DevOrchestrator.IntegrationTests.Auth;

/// <summary>The audit log: every audited change writes its row (actor, target, request), never a secret; admins only; filters.</summary>
public sealed class AuditLogTests
{
    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Every_audited_change_writes_its_row_with_the_actor_and_no_secret_value(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, settings: new Dictionary<string, string?> { ["ENCRYPTION_KEY"] = "an encryption key for the audit tests, long enough" }, cancellationToken: ct);
        using var admin = await service.ClientForNewUserAsync(Roles.Admin, ct);
        var adminMe = (await (await admin.GetAsync("/api/v1/auth/me", ct)).ReadJsonAsync())["data"]!;
        var (adminId, adminEmail) = ((long)adminMe["id"]!, (string)adminMe["email"]!);
        // Secret values that must never reach the log (made at run time: not credential-shaped text in the source).
        var createdPassword = "created-" + Guid.NewGuid().ToString("N");
        var resetPassword = "reset-" + Guid.NewGuid().ToString("N");
        var pluginToken = "plugin-token-" + Guid.NewGuid().ToString("N");

        var created = await admin.PostJsonAsync("/api/v1/users", new { email = "audited@example.com", role = "viewer", password = createdPassword });
        var createdRequestId = created.Headers.GetValues("X-Request-Id").Single();
        var userId = (long)(await created.ReadJsonAsync())["data"]!["id"]!;
        Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsJsonAsync($"/api/v1/users/{userId}", new { role = "operator" }, ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/users/{userId}/disable", null, ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/users/{userId}/enable", null, ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostJsonAsync($"/api/v1/users/{userId}/password", new { password = resetPassword })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/users/{userId}/revoke-tokens", null, ct)).StatusCode);
        var keyData = (await (await admin.PostJsonAsync("/api/v1/auth/api-keys", new { name = "audited key" })).ReadJsonAsync())["data"]!;
        var (keyId, key) = ((long)keyData["id"]!, (string)keyData["key"]!);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"/api/v1/auth/api-keys/{keyId}", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync("/api/v1/plugins/version_control/github/config",
            new Dictionary<string, object?> { ["GITHUB_TOKEN"] = pluginToken, ["GITHUB_API_URL"] = null }, ct)).StatusCode);
        var projectId = (long)(await (await admin.PostJsonAsync("/api/v1/projects", new { name = "audited" })).ReadJsonAsync())["data"]!["id"]!;
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync($"/api/v1/projects/{projectId}/members", new { user_id = userId, role = "developer" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsJsonAsync($"/api/v1/projects/{projectId}/members/{userId}", new { role = "viewer" }, ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"/api/v1/projects/{projectId}/members/{userId}", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsJsonAsync($"/api/v1/projects/{projectId}", new { description = "changed" }, ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"/api/v1/projects/{projectId}", ct)).StatusCode);
        var taskId = (long)(await (await admin.PostJsonAsync("/api/v1/tasks", new { title = "to cancel" })).ReadJsonAsync())["data"]!["id"]!;
        Assert.Equal(HttpStatusCode.OK, (await admin.PostJsonAsync($"/api/v1/tasks/{taskId}/cancel", new { reason = "not needed" })).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostJsonAsync($"/api/v1/tasks/{taskId}/cancel", new { })).StatusCode); // no second row

        var response = await admin.GetAsync($"/api/v1/audit?actor={adminId}&per_page=200&order=asc", ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        foreach (var secret in new[] { createdPassword, resetPassword, pluginToken, key })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }

        var rows = (await response.ReadJsonAsync())["data"]!.AsArray().Select(r => r!).ToList();
        Assert.Equal(
            ["user.created", "user.role_changed", "user.disabled", "user.enabled", "user.password_reset", "user.tokens_revoked", "api_key.created", "api_key.revoked",
             "plugin_config.changed", "project.created", "project.member_added", "project.member_added", "project.member_role_changed", "project.member_removed",
             "project.updated", "project.deleted", "task.cancelled"],
            rows.Select(r => (string)r["action"]!).ToList());
        Assert.All(rows, r =>
        {
            Assert.Equal(adminEmail, (string?)r["actor_email"]);
            Assert.Equal(adminId, (long)r["actor_user_id"]!);
            Assert.False(string.IsNullOrEmpty((string?)r["client_ip"]));
            Assert.False(string.IsNullOrEmpty((string?)r["request_id"]));
        });
        var userCreated = rows[0];
        Assert.Equal(("user", $"{userId}", createdRequestId), ((string?)userCreated["target_type"], (string?)userCreated["target_id"], (string?)userCreated["request_id"]));
        Assert.Equal("operator", (string?)rows[1]["details"]!["to"]);
        Assert.Equal(0, (int)rows[5]["details"]!["api_keys_revoked"]!);
        var plugin = rows[8];
        Assert.Equal("version_control/github", (string?)plugin["target_id"]);
        Assert.Equal(["GITHUB_TOKEN"], plugin["details"]!["set"]!.AsArray().Select(n => (string)n!));
        Assert.Equal(["GITHUB_API_URL"], plugin["details"]!["removed"]!.AsArray().Select(n => (string)n!));
        // The creator became the first maintainer; then the user was added, changed and removed (ids and roles, in the project's rows).
        Assert.Equal((adminId, "maintainer"), ((long)rows[10]["details"]!["user_id"]!, (string)rows[10]["details"]!["role"]!));
        Assert.Equal((userId, "developer"), ((long)rows[11]["details"]!["user_id"]!, (string)rows[11]["details"]!["role"]!));
        Assert.Equal((userId, "viewer"), ((long)rows[12]["details"]!["user_id"]!, (string)rows[12]["details"]!["role"]!));
        Assert.All(rows[9..14], r => Assert.Equal(("project", $"{projectId}"), ((string?)r["target_type"], (string?)r["target_id"])));
        Assert.Equal(["description"], rows[14]["details"]!["changed"]!.AsArray().Select(n => (string)n!));
        Assert.Equal(("task", $"{taskId}", "not needed"), ((string?)rows[16]["target_type"], (string?)rows[16]["target_id"], (string?)rows[16]["details"]!["reason"]));
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Only_admins_read_the_log_and_its_filters_narrow_it(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        using var admin = await service.ClientForNewUserAsync(Roles.Admin, ct); // made without a request: a "cli" row
        using var operatorClient = await service.ClientForNewUserAsync(Roles.Operator, ct);
        var adminId = (long)(await (await admin.GetAsync("/api/v1/auth/me", ct)).ReadJsonAsync())["data"]!["id"]!;

        var forbidden = await operatorClient.GetAsync("/api/v1/audit", ct);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await service.Client.GetAsync("/api/v1/audit", ct)).StatusCode);

        var first = (long)(await (await operatorClient.PostJsonAsync("/api/v1/projects", new { name = "one" })).ReadJsonAsync())["data"]!["id"]!;
        var second = (long)(await (await operatorClient.PostJsonAsync("/api/v1/projects", new { name = "two" })).ReadJsonAsync())["data"]!["id"]!;
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"/api/v1/projects/{second}", ct)).StatusCode);

        async Task<List<JsonNode>> ListAsync(string query)
        {
            var response = await admin.GetAsync("/api/v1/audit?per_page=200&" + query, ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.ReadJsonAsync())["data"]!.AsArray().Select(r => r!).ToList();
        }

        Assert.Equal(2, (await ListAsync("action=user.created&actor=cli")).Count);
        // The creator becomes the first maintainer in the creation's save: its row follows the project's.
        Assert.Equal(["project.member_added", "project.created"], (await ListAsync($"target_type=project&target_id={first}")).Select(r => (string)r["action"]!));
        Assert.Equal(["project.deleted", "project.member_added", "project.created"], (await ListAsync($"target_type=project&target_id={second}")).Select(r => (string)r["action"]!)); // newest first
        Assert.Equal(["project.deleted"], (await ListAsync($"actor={adminId}")).Select(r => (string)r["action"]!));
        Assert.Equal(2, (await ListAsync("action=project.created&since=2000-01-01&until=2999-01-01")).Count);
        Assert.Empty(await ListAsync("since=2999-01-01"));
        Assert.Empty(await ListAsync("until=2000-01-01T00:00:00Z"));
        var paged = await admin.GetAsync("/api/v1/audit?per_page=2&page=2", ct);
        Assert.Equal(7, (long)(await paged.ReadJsonAsync())["pagination"]!["total"]!); // 2 users, 2 projects with their first maintainers, 1 deletion

        var bad = await admin.GetAsync("/api/v1/audit?action=user.exploded&since=yesterday&until=later&page=0", ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var details = (await bad.ReadJsonAsync())["error"]!["details"]!.AsObject();
        Assert.Equal(["action", "page", "since", "until"], details.Select(d => d.Key).Order(StringComparer.Ordinal));
    }
}
