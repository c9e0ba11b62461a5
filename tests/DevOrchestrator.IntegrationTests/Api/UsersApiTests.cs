using System.Net;
using System.Net.Http.Headers;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.IntegrationTests.Infrastructure;

namespace DevOrchestrator.IntegrationTests.Api;

/// <summary><c>/api/v1/users</c>: admins manage users; a disabled user's tokens stop working on their next request.</summary>
public sealed class UsersApiTests
{
    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Admins_list_create_change_role_disable_and_enable_users(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        using var admin = await service.ClientForNewUserAsync(Roles.Admin, ct);

        var created = await admin.PostJsonAsync("/api/v1/users", new { email = "New.Person@Example.com", role = "viewer" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var user = (await created.ReadJsonAsync())["data"]!;
        var id = (long)user["id"]!;
        Assert.Equal("new.person@example.com", (string?)user["email"]);
        Assert.True((bool)user["is_active"]!);
        var password = (string?)user["password"];
        Assert.False(string.IsNullOrEmpty(password));
        Assert.Equal($"/api/v1/users/{id}", created.Headers.Location?.ToString());

        var given = await admin.PostJsonAsync("/api/v1/users", new { email = "given@example.com", role = "operator", password = "long-enough-1" });
        Assert.Null((await given.ReadJsonAsync())["data"]!["password"]);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostJsonAsync("/api/v1/users", new { email = "given@example.com", role = "viewer" })).StatusCode);

        var list = await (await admin.GetAsync("/api/v1/users?role=viewer", ct)).ReadJsonAsync();
        Assert.Equal("new.person@example.com", (string?)Assert.Single(list["data"]!.AsArray())!["email"]);
        Assert.Equal(1, (long)list["pagination"]!["total"]!);
        Assert.Equal(3, (await (await admin.GetAsync("/api/v1/users", ct)).ReadJsonAsync())["data"]!.AsArray().Count);

        // The new user logs in; as a viewer they may not create tasks, after promotion their same token may.
        var login = await (await service.Client.PostJsonAsync("/api/v1/auth/login", new { email = "new.person@example.com", password })).ReadJsonAsync();
        using var person = new HttpClient { BaseAddress = service.Address };
        person.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (string?)login["data"]!["access_token"]);
        Assert.Equal(HttpStatusCode.Forbidden, (await person.PostJsonAsync("/api/v1/tasks", new { title = "not yet" })).StatusCode);
        var promoted = await admin.PatchAsync($"/api/v1/users/{id}", System.Net.Http.Json.JsonContent.Create(new { role = "operator" }), ct);
        Assert.Equal("operator", (string?)(await promoted.ReadJsonAsync())["data"]!["role"]);
        Assert.Equal(HttpStatusCode.Created, (await person.PostJsonAsync("/api/v1/tasks", new { title = "now" })).StatusCode);

        // Disabled: the same token is refused on the next request, and login fails.
        var disabled = await admin.PostAsync($"/api/v1/users/{id}/disable", null, ct);
        Assert.Equal(HttpStatusCode.OK, disabled.StatusCode);
        Assert.False((bool)(await disabled.ReadJsonAsync())["data"]!["is_active"]!);
        var refused = await person.GetAsync("/api/v1/tasks", ct);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        var refusal = (await refused.ReadJsonAsync())["error"]!;
        Assert.Equal("UNAUTHORIZED", (string?)refusal["code"]);
        Assert.Contains("disabled", (string?)refusal["message"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await service.Client.PostJsonAsync("/api/v1/auth/login", new { email = "new.person@example.com", password })).StatusCode);

        var enabled = await admin.PostAsync($"/api/v1/users/{id}/enable", null, ct);
        Assert.True((bool)(await enabled.ReadJsonAsync())["data"]!["is_active"]!);
        Assert.Equal(HttpStatusCode.OK, (await person.GetAsync("/api/v1/tasks", ct)).StatusCode);
        Assert.Equal(id, (long)(await (await admin.GetAsync($"/api/v1/users/{id}", ct)).ReadJsonAsync())["data"]!["id"]!);
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Non_admins_are_refused_and_bad_input_names_each_field(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        using var admin = await service.ClientForNewUserAsync(Roles.Admin, ct);
        using var operatorClient = await service.ClientForNewUserAsync(Roles.Operator, ct);
        using var viewer = await service.ClientForNewUserAsync(Roles.Viewer, ct);

        Assert.Equal(HttpStatusCode.Unauthorized, (await service.Client.GetAsync("/api/v1/users", ct)).StatusCode);
        foreach (var client in new[] { operatorClient, viewer })
        {
            foreach (var response in new[]
            {
                await client.GetAsync("/api/v1/users", ct),
                await client.PostJsonAsync("/api/v1/users", new { email = "x@example.com", role = "admin" }),
                await client.PostAsync("/api/v1/users/1/disable", null, ct),
                await client.PatchAsync("/api/v1/users/1", System.Net.Http.Json.JsonContent.Create(new { role = "admin" }), ct),
            })
            {
                Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
                Assert.Equal("FORBIDDEN", (string?)(await response.ReadJsonAsync())["error"]!["code"]);
            }
        }

        var invalid = await admin.PostJsonAsync("/api/v1/users", new { email = "no-at-sign", role = "owner", password = "short" });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal(["email", "password", "role"], (await invalid.ReadJsonAsync())["error"]!["details"]!.AsObject().Select(kv => kv.Key).Order().ToArray());
        var missing = await admin.PostJsonAsync("/api/v1/users", new { });
        Assert.Equal(["email", "role"], (await missing.ReadJsonAsync())["error"]!["details"]!.AsObject().Select(kv => kv.Key).Order().ToArray());
        var badList = await admin.GetAsync("/api/v1/users?role=owner&is_active=maybe&per_page=0", ct);
        Assert.Equal(["is_active", "per_page", "role"], (await badList.ReadJsonAsync())["error"]!["details"]!.AsObject().Select(kv => kv.Key).Order().ToArray());
        var badPatch = await admin.PatchAsync("/api/v1/users/1", System.Net.Http.Json.JsonContent.Create(new { role = "owner" }), ct);
        Assert.Equal(HttpStatusCode.BadRequest, badPatch.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PatchAsync("/api/v1/users/1", System.Net.Http.Json.JsonContent.Create(new { }), ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync("/api/v1/users/424242/disable", null, ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/v1/users/424242", ct)).StatusCode);

        // The only active admin can be neither disabled nor demoted (nobody could manage users any more).
        var me = (long)(await (await admin.GetAsync("/api/v1/auth/me", ct)).ReadJsonAsync())["data"]!["id"]!;
        var lastAdmin = await admin.PostAsync($"/api/v1/users/{me}/disable", null, ct);
        Assert.Equal(HttpStatusCode.Conflict, lastAdmin.StatusCode);
        Assert.Contains("last active admin", (string?)(await lastAdmin.ReadJsonAsync())["error"]!["message"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PatchAsync($"/api/v1/users/{me}", System.Net.Http.Json.JsonContent.Create(new { role = "viewer" }), ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/users", ct)).StatusCode);
    }
}
