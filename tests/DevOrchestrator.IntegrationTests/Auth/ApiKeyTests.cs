using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.IntegrationTests.Auth;

/// <summary>Per-user API keys (decision 0080): shown once, stored hashed, a bearer token with the owner's role, refused once unusable.</summary>
public sealed class ApiKeyTests
{
    private static HttpClient WithBearer(ServiceUnderTest service, string bearer)
    {
        var client = new HttpClient { BaseAddress = service.Address, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return client;
    }

    private static async Task<(long Id, string Key)> CreateKeyAsync(HttpClient owner, string name, int? days = null)
    {
        var created = await owner.PostJsonAsync("/api/v1/auth/api-keys", new { name, expires_in_days = days });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var data = (await created.ReadJsonAsync())["data"]!;
        return ((long)data["id"]!, (string)data["key"]!);
    }

    private static async Task<string?> RefusalAsync(HttpClient client, CancellationToken ct)
    {
        var response = await client.GetAsync("/api/v1/auth/me", ct);
        return response.StatusCode == HttpStatusCode.Unauthorized ? (string?)(await response.ReadJsonAsync())["error"]!["message"] : null;
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task A_key_is_shown_once_stored_as_its_hash_and_works_as_a_bearer_token_with_the_owners_role(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        using var owner = await service.ClientForNewUserAsync(Roles.Operator, ct);
        var ownerId = (long)(await (await owner.GetAsync("/api/v1/auth/me", ct)).ReadJsonAsync())["data"]!["id"]!;

        var invalid = await owner.PostJsonAsync("/api/v1/auth/api-keys", new { name = " ", expires_in_days = 0 });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var details = (await invalid.ReadJsonAsync())["error"]!["details"]!;
        Assert.NotNull(details["name"]);
        Assert.NotNull(details["expires_in_days"]);

        var (id, key) = await CreateKeyAsync(owner, "ci deploy", 30);
        Assert.Matches("^dvo_[A-Za-z0-9_-]{43}$", key);

        // At rest: the SHA-256 of the key, and no column holds the key.
        var row = await service.WithDbAsync(d => d.ApiKeys.AsNoTracking().SingleAsync(k => k.Id == id, ct));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key))), row.KeyHash);
        Assert.Equal(key[..8], row.Prefix);
        Assert.Equal(key[^4..], row.LastChars);
        Assert.DoesNotContain(new[] { row.Name, row.KeyHash, row.Prefix, row.LastChars }, v => v.Contains(key[8..^4], StringComparison.Ordinal));

        using var withKey = WithBearer(service, key);
        var me = (await (await withKey.GetAsync("/api/v1/auth/me", ct)).ReadJsonAsync())["data"]!;
        Assert.Equal(ownerId, (long)me["id"]!);
        Assert.Equal("operator", (string?)me["role"]);
        Assert.Equal(HttpStatusCode.Created, (await withKey.PostJsonAsync("/api/v1/tasks", new { title = "made with a key" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await withKey.GetAsync("/api/v1/users", ct)).StatusCode); // the owner's role, no more
        // A key cannot mint keys (a leaked one would outlive its revocation through them).
        var minted = await withKey.PostJsonAsync("/api/v1/auth/api-keys", new { name = "minted by a key" });
        Assert.Equal(HttpStatusCode.Forbidden, minted.StatusCode);
        Assert.Equal("FORBIDDEN", (string?)(await minted.ReadJsonAsync())["error"]!["code"]);

        // Listed without the secret; last use recorded.
        var listed = await owner.GetAsync("/api/v1/auth/api-keys", ct);
        var listText = await listed.Content.ReadAsStringAsync(ct);
        Assert.DoesNotContain(key, listText, StringComparison.Ordinal);
        var item = (await listed.ReadJsonAsync())["data"]!.AsArray().Single()!;
        Assert.Equal("ci deploy", (string?)item["name"]);
        Assert.Equal(key[..8], (string?)item["prefix"]);
        Assert.NotNull(item["last_used_at"]);
        Assert.NotNull(item["expires_at"]);
        Assert.Null(item["key"]);

        // A role change of the owner applies to the key on its next request (this process forgets at once).
        using var admin = await service.ClientForNewUserAsync(Roles.Admin, ct);
        Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsJsonAsync($"/api/v1/users/{ownerId}", new { role = "viewer" }, ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await withKey.PostJsonAsync("/api/v1/tasks", new { title = "now a viewer" })).StatusCode);
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task A_key_is_refused_once_revoked_expired_its_owner_disabled_or_an_admin_revoked_the_owners_tokens(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        using var owner = await service.ClientForNewUserAsync(Roles.Operator, ct);
        using var other = await service.ClientForNewUserAsync(Roles.Operator, ct);
        using var admin = await service.ClientForNewUserAsync(Roles.Admin, ct);
        var ownerId = (long)(await (await owner.GetAsync("/api/v1/auth/me", ct)).ReadJsonAsync())["data"]!["id"]!;

        // Revoked by its owner; another non-admin can neither see nor revoke it.
        var (revokedId, revokedKey) = await CreateKeyAsync(owner, "revoked");
        using var revoked = WithBearer(service, revokedKey);
        Assert.Null(await RefusalAsync(revoked, ct));
        Assert.Equal(HttpStatusCode.NotFound, (await other.DeleteAsync($"/api/v1/auth/api-keys/{revokedId}", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await other.GetAsync($"/api/v1/auth/api-keys?user_id={ownerId}", ct)).StatusCode);
        Assert.Null(await RefusalAsync(revoked, ct));
        var deleted = await owner.DeleteAsync($"/api/v1/auth/api-keys/{revokedId}", ct);
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.NotNull((await deleted.ReadJsonAsync())["data"]!["revoked_at"]);
        Assert.Equal("The API key was revoked.", await RefusalAsync(revoked, ct));
        Assert.Equal(HttpStatusCode.NotFound, (await owner.DeleteAsync("/api/v1/auth/api-keys/999999", ct)).StatusCode);

        // Expired.
        var (expiredId, expiredKey) = await CreateKeyAsync(owner, "expired", 1);
        await service.WithDbAsync(d => d.ApiKeys.Where(k => k.Id == expiredId).ExecuteUpdateAsync(s => s.SetProperty(k => k.ExpiresAt, DateTimeOffset.UtcNow.AddMinutes(-1)), ct));
        using var expired = WithBearer(service, expiredKey);
        Assert.Equal("The API key has expired.", await RefusalAsync(expired, ct));

        // Unknown (well-formed, never issued).
        using var unknown = WithBearer(service, ApiKeys.Generate());
        Assert.Equal("The API key is invalid.", await RefusalAsync(unknown, ct));

        // An admin lists and revokes anyone's keys.
        var (adminRevokedId, adminRevokedKey) = await CreateKeyAsync(owner, "admin revokes");
        var ownersKeys = (await (await admin.GetAsync($"/api/v1/auth/api-keys?user_id={ownerId}", ct)).ReadJsonAsync())["data"]!.AsArray();
        Assert.Equal(3, ownersKeys.Count);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"/api/v1/auth/api-keys/{adminRevokedId}", ct)).StatusCode);
        using (var adminRevoked = WithBearer(service, adminRevokedKey))
        {
            Assert.Equal("The API key was revoked.", await RefusalAsync(adminRevoked, ct));
        }

        // The owner disabled: refused; enabled again: works.
        var (_, liveKey) = await CreateKeyAsync(owner, "live");
        using var live = WithBearer(service, liveKey);
        Assert.Null(await RefusalAsync(live, ct));
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/users/{ownerId}/disable", null, ct)).StatusCode);
        Assert.Equal("The user is disabled or no longer exists.", await RefusalAsync(live, ct));
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/users/{ownerId}/enable", null, ct)).StatusCode);
        Assert.Null(await RefusalAsync(live, ct));

        // Logout (the owner's sessions) leaves keys alone; an admin's revoke-tokens revokes the keys too.
        Assert.Equal(HttpStatusCode.OK, (await owner.PostAsync("/api/v1/auth/logout", null, ct)).StatusCode);
        Assert.Null(await RefusalAsync(live, ct));
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/users/{ownerId}/revoke-tokens", null, ct)).StatusCode);
        Assert.Equal("The API key was revoked.", await RefusalAsync(live, ct));
    }

    [Fact]
    public async Task Another_replica_refuses_a_revoked_key_once_its_cache_expires()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(Db.Postgres, cancellationToken: ct);
        await using var replica = await ServiceUnderTest.StartAsync(Db.Postgres, shareWith: service, cancellationToken: ct);
        using var owner = await service.ClientForNewUserAsync(Roles.Viewer, ct);
        var (id, key) = await CreateKeyAsync(owner, "replicated");
        using var onReplica = WithBearer(replica, key);
        Assert.Null(await RefusalAsync(onReplica, ct));
        Assert.Equal(HttpStatusCode.OK, (await owner.DeleteAsync($"/api/v1/auth/api-keys/{id}", ct)).StatusCode);
        var message = await HttpJson.EventuallyAsync(() => RefusalAsync(onReplica, ct), m => m is not null, TimeSpan.FromSeconds(30));
        Assert.Equal("The API key was revoked.", message);
    }

    /// <summary>The events stream (SSE) and the WebSocket accept a key like a JWT, and refuse a revoked key, a revoked token and a disabled user.</summary>
    [Fact]
    public async Task Sse_and_websocket_accept_a_key_and_refuse_revoked_keys_revoked_tokens_and_disabled_users()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(Db.Sqlite, cancellationToken: ct);
        using var admin = await service.ClientForNewUserAsync(Roles.Admin, ct);
        using var keyOwner = await service.ClientForNewUserAsync(Roles.Operator, ct);
        using var tokenOwner = await service.ClientForNewUserAsync(Roles.Operator, ct);
        using var disabledOwner = await service.ClientForNewUserAsync(Roles.Operator, ct);
        var taskId = (long)(await (await keyOwner.PostJsonAsync("/api/v1/tasks", new { title = "watched" })).ReadJsonAsync())["data"]!["id"]!;
        var (keyId, key) = await CreateKeyAsync(keyOwner, "streams");
        var wsUri = new UriBuilder(service.Address) { Scheme = "ws", Path = "/ws" }.Uri;

        // Accepted: SSE with the key in the header, the WebSocket with the key in ?access_token= (as a browser sends it).
        using var withKey = WithBearer(service, key);
        Assert.Equal(HttpStatusCode.OK, await SseStatusAsync(withKey, taskId, ct));
        Assert.Null(await WebSocketRefusalAsync(new UriBuilder(wsUri) { Query = "access_token=" + key }.Uri, null, ct));

        Assert.Equal(HttpStatusCode.OK, (await keyOwner.DeleteAsync($"/api/v1/auth/api-keys/{keyId}", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, await SseStatusAsync(withKey, taskId, ct));
        Assert.Contains("401", await WebSocketRefusalAsync(new UriBuilder(wsUri) { Query = "access_token=" + key }.Uri, null, ct), StringComparison.Ordinal);
        Assert.Contains("401", await WebSocketRefusalAsync(wsUri, "Bearer " + key, ct), StringComparison.Ordinal);

        // Each user streams a task of their own (a task without a project is its creator's only).
        var tokenOwnersTask = (long)(await (await tokenOwner.PostJsonAsync("/api/v1/tasks", new { title = "watched by its creator" })).ReadJsonAsync())["data"]!["id"]!;
        var tokenOwnerId = (long)(await (await tokenOwner.GetAsync("/api/v1/auth/me", ct)).ReadJsonAsync())["data"]!["id"]!;
        Assert.Equal(HttpStatusCode.OK, await SseStatusAsync(tokenOwner, tokenOwnersTask, ct));
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/users/{tokenOwnerId}/revoke-tokens", null, ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, await SseStatusAsync(tokenOwner, tokenOwnersTask, ct));
        Assert.Contains("401", await WebSocketRefusalAsync(wsUri, tokenOwner.DefaultRequestHeaders.Authorization!.ToString(), ct), StringComparison.Ordinal);

        var disabledOwnersTask = (long)(await (await disabledOwner.PostJsonAsync("/api/v1/tasks", new { title = "watched before the disable" })).ReadJsonAsync())["data"]!["id"]!;
        var disabledId = (long)(await (await disabledOwner.GetAsync("/api/v1/auth/me", ct)).ReadJsonAsync())["data"]!["id"]!;
        Assert.Equal(HttpStatusCode.OK, await SseStatusAsync(disabledOwner, disabledOwnersTask, ct));
        Assert.Null(await WebSocketRefusalAsync(wsUri, disabledOwner.DefaultRequestHeaders.Authorization!.ToString(), ct));
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/users/{disabledId}/disable", null, ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, await SseStatusAsync(disabledOwner, disabledOwnersTask, ct));
        Assert.Contains("401", await WebSocketRefusalAsync(wsUri, disabledOwner.DefaultRequestHeaders.Authorization!.ToString(), ct), StringComparison.Ordinal);
    }

    private static async Task<HttpStatusCode> SseStatusAsync(HttpClient client, long taskId, CancellationToken ct)
    {
        using var response = await client.GetAsync($"/api/v1/tasks/{taskId}/events", HttpCompletionOption.ResponseHeadersRead, ct);
        return response.StatusCode;
    }

    /// <returns>Null when the WebSocket opened (it is closed again), else the refusal's message.</returns>
    private static async Task<string?> WebSocketRefusalAsync(Uri uri, string? authorization, CancellationToken ct)
    {
        using var socket = new ClientWebSocket();
        if (authorization is not null)
        {
            socket.Options.SetRequestHeader("Authorization", authorization);
        }

        try
        {
            await socket.ConnectAsync(uri, ct);
        }
        catch (WebSocketException ex)
        {
            return ex.Message;
        }

        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", ct);
        return null;
    }
}
