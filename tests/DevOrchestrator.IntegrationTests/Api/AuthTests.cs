using System.Net;
using System.Net.Http.Headers;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.IntegrationTests.Infrastructure;

namespace DevOrchestrator.IntegrationTests.Api;

public sealed class AuthTests
{
    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Routes_need_a_valid_token_and_a_strong_enough_role(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);

        var anonymous = await service.Client.GetAsync("/api/v1/tasks", ct);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        var body = await anonymous.ReadJsonAsync();
        Assert.False((bool)body["success"]!);
        Assert.Equal("UNAUTHORIZED", (string?)body["error"]!["code"]);
        Assert.Equal(anonymous.Headers.GetValues("X-Request-Id").Single(), (string?)body["request_id"]);

        using var forged = new HttpClient { BaseAddress = service.Address };
        forged.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.bad");
        Assert.Equal(HttpStatusCode.Unauthorized, (await forged.GetAsync("/api/v1/tasks", ct)).StatusCode);

        using var viewer = await service.ClientForNewUserAsync(Roles.Viewer, ct);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/api/v1/tasks", ct)).StatusCode);
        var denied = await viewer.PostJsonAsync("/api/v1/tasks", new { title = "not allowed" });
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Equal("FORBIDDEN", (string?)(await denied.ReadJsonAsync())["error"]!["code"]);

        using var operatorClient = await service.ClientForNewUserAsync(Roles.Operator, ct);
        Assert.Equal(HttpStatusCode.Created, (await operatorClient.PostJsonAsync("/api/v1/tasks", new { title = "allowed" })).StatusCode);
        var project = await operatorClient.PostJsonAsync("/api/v1/projects", new { name = "p1" });
        Assert.Equal(HttpStatusCode.Created, project.StatusCode);
        var id = (long)(await project.ReadJsonAsync())["data"]!["id"]!;
        Assert.Equal(HttpStatusCode.Forbidden, (await operatorClient.DeleteAsync($"/api/v1/projects/{id}", ct)).StatusCode);

        using var admin = await service.ClientForNewUserAsync(Roles.Admin, ct);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"/api/v1/projects/{id}", ct)).StatusCode);

        // Health stays open for probes.
        Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/health", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/api/v1/health", ct)).StatusCode);
    }

    [Fact]
    public async Task Login_returns_a_token_that_works_and_rejects_a_wrong_password()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(Db.Sqlite, cancellationToken: ct);
        await service.WithDbAsync(async db =>
        {
            var hasher = new Microsoft.AspNetCore.Identity.PasswordHasher<User>();
            var user = new User { Email = "ann@example.com", Role = Roles.Operator, PasswordHash = "", CreatedAt = DateTimeOffset.UtcNow };
            user.PasswordHash = hasher.HashPassword(user, "s3cret-pass");
            db.Users.Add(user);
            return await db.SaveChangesAsync(ct);
        });

        var wrong = await service.Client.PostJsonAsync("/api/v1/auth/login", new { email = "ann@example.com", password = "nope" });
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);

        var missing = await service.Client.PostJsonAsync("/api/v1/auth/login", new { });
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        var details = (await missing.ReadJsonAsync())["error"]!["details"]!;
        Assert.NotNull(details["email"]);
        Assert.NotNull(details["password"]);

        var login = await service.Client.PostJsonAsync("/api/v1/auth/login", new { email = "ANN@example.com", password = "s3cret-pass" });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var token = (string?)(await login.ReadJsonAsync())["data"]!["access_token"];
        using var client = new HttpClient { BaseAddress = service.Address };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var me = await (await client.GetAsync("/api/v1/auth/me", ct)).ReadJsonAsync();
        Assert.Equal("ann@example.com", (string?)me["data"]!["email"]);
        Assert.Equal("operator", (string?)me["data"]!["role"]);
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Logout_revokes_every_token_of_the_caller_and_a_new_login_works(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        using var first = await service.ClientForNewUserAsync(Roles.Operator, ct);
        var email = (string)(await (await first.GetAsync("/api/v1/auth/me", ct)).ReadJsonAsync())["data"]!["email"]!;
        var login = await service.Client.PostJsonAsync("/api/v1/auth/login", new { email, password = "correct-horse-battery" });
        using var second = new HttpClient { BaseAddress = service.Address };
        second.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (string?)(await login.ReadJsonAsync())["data"]!["access_token"]);
        Assert.Equal(HttpStatusCode.OK, (await second.GetAsync("/api/v1/auth/me", ct)).StatusCode);

        var logout = await first.PostAsync("/api/v1/auth/logout", null, ct);
        Assert.Equal(HttpStatusCode.OK, logout.StatusCode);
        Assert.True((bool)(await logout.ReadJsonAsync())["data"]!["tokens_revoked"]!);

        foreach (var revoked in new[] { first, second })
        {
            var refused = await revoked.GetAsync("/api/v1/tasks", ct);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Contains("revoked", (string?)(await refused.ReadJsonAsync())["error"]!["message"], StringComparison.Ordinal);
        }

        var again = await service.Client.PostJsonAsync("/api/v1/auth/login", new { email, password = "correct-horse-battery" });
        using var fresh = new HttpClient { BaseAddress = service.Address };
        fresh.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (string?)(await again.ReadJsonAsync())["data"]!["access_token"]);
        Assert.Equal(HttpStatusCode.OK, (await fresh.GetAsync("/api/v1/auth/me", ct)).StatusCode);
    }

    [Fact]
    public async Task An_admin_revokes_a_users_tokens_and_another_replica_refuses_them_once_its_cache_expires()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(Db.Postgres, cancellationToken: ct);
        await using var replica = await ServiceUnderTest.StartAsync(Db.Postgres, shareWith: service, cancellationToken: ct);
        using var admin = await service.ClientForNewUserAsync(Roles.Admin, ct);
        using var user = await service.ClientForNewUserAsync(Roles.Viewer, ct);
        var userId = (long)(await (await user.GetAsync("/api/v1/auth/me", ct)).ReadJsonAsync())["data"]!["id"]!;
        using var onReplica = new HttpClient { BaseAddress = replica.Address };
        onReplica.DefaultRequestHeaders.Authorization = user.DefaultRequestHeaders.Authorization;
        Assert.Equal(HttpStatusCode.OK, (await onReplica.GetAsync("/api/v1/auth/me", ct)).StatusCode);

        Assert.Equal(HttpStatusCode.Forbidden, (await user.PostAsync($"/api/v1/users/{userId}/revoke-tokens", null, ct)).StatusCode); // admins only
        var revoked = await admin.PostAsync($"/api/v1/users/{userId}/revoke-tokens", null, ct);
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync("/api/v1/users/999999/revoke-tokens", null, ct)).StatusCode);

        // This process forgot the user at once; the replica within UserStatusCache.Lifetime.
        Assert.Equal(HttpStatusCode.Unauthorized, (await user.GetAsync("/api/v1/auth/me", ct)).StatusCode);
        var status = await HttpJson.EventuallyAsync(async () => (await onReplica.GetAsync("/api/v1/auth/me", ct)).StatusCode,
            s => s == HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/auth/me", ct)).StatusCode); // others keep theirs
    }
}
