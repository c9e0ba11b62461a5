using System.Net;
using System.Net.Http.Headers;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.IntegrationTests.Infrastructure;

namespace DevOrchestrator.IntegrationTests.Auth;

public sealed class PasswordTests
{
    private static async Task<HttpStatusCode> LoginAsync(ServiceUnderTest service, string email, string password) =>
        (await service.Client.PostJsonAsync("/api/v1/auth/login", new { email, password })).StatusCode;

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task An_admin_resets_a_password_with_the_creation_rules_and_the_users_tokens_die(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        using var admin = await service.ClientForNewUserAsync(Roles.Admin, ct);
        using var user = await service.ClientForNewUserAsync(Roles.Operator, ct);
        var me = (await (await user.GetAsync("/api/v1/auth/me", ct)).ReadJsonAsync())["data"]!;
        var (id, email) = ((long)me["id"]!, (string)me["email"]!);

        var tooShort = await admin.PostJsonAsync($"/api/v1/users/{id}/password", new { password = "short" });
        Assert.Equal(HttpStatusCode.BadRequest, tooShort.StatusCode);
        Assert.Contains("at least 8", (string?)(await tooShort.ReadJsonAsync())["error"]!["details"]!["password"]![0], StringComparison.Ordinal);
        Assert.NotNull((await (await admin.PostJsonAsync($"/api/v1/users/{id}/password", new { })).ReadJsonAsync())["error"]!["details"]!["password"]);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostJsonAsync("/api/v1/users/999999/password", new { password = "long-enough-pw" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await user.PostJsonAsync($"/api/v1/users/{id}/password", new { password = "long-enough-pw" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await user.GetAsync("/api/v1/auth/me", ct)).StatusCode); // nothing changed yet

        Assert.Equal(HttpStatusCode.OK, (await admin.PostJsonAsync($"/api/v1/users/{id}/password", new { password = "a-brand-new-password" })).StatusCode);
        var refused = await user.GetAsync("/api/v1/auth/me", ct);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("revoked", (string?)(await refused.ReadJsonAsync())["error"]!["message"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, await LoginAsync(service, email, "correct-horse-battery"));
        Assert.Equal(HttpStatusCode.OK, await LoginAsync(service, email, "a-brand-new-password"));
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task A_user_changes_their_own_password_with_the_current_one_and_gets_a_new_token(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        using var user = await service.ClientForNewUserAsync(Roles.Viewer, ct);
        var email = (string)(await (await user.GetAsync("/api/v1/auth/me", ct)).ReadJsonAsync())["data"]!["email"]!;

        var empty = await user.PostJsonAsync("/api/v1/auth/password", new { });
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        var details = (await empty.ReadJsonAsync())["error"]!["details"]!;
        Assert.NotNull(details["current_password"]);
        Assert.NotNull(details["new_password"]);

        var wrong = await user.PostJsonAsync("/api/v1/auth/password", new { current_password = "not-my-password", new_password = "another-long-one" });
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        Assert.Equal("is not your current password", (string?)(await wrong.ReadJsonAsync())["error"]!["details"]!["current_password"]![0]);
        var weak = await user.PostJsonAsync("/api/v1/auth/password", new { current_password = "correct-horse-battery", new_password = "1234567" });
        Assert.NotNull((await weak.ReadJsonAsync())["error"]!["details"]!["new_password"]);
        Assert.Equal(HttpStatusCode.OK, await LoginAsync(service, email, "correct-horse-battery")); // neither changed it

        var changed = await user.PostJsonAsync("/api/v1/auth/password", new { current_password = "correct-horse-battery", new_password = "another-long-one" });
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        var token = (string?)(await changed.ReadJsonAsync())["data"]!["access_token"];
        Assert.Equal(HttpStatusCode.Unauthorized, (await user.GetAsync("/api/v1/auth/me", ct)).StatusCode);
        using var fresh = new HttpClient { BaseAddress = service.Address };
        fresh.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.OK, (await fresh.GetAsync("/api/v1/auth/me", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, await LoginAsync(service, email, "correct-horse-battery"));
        Assert.Equal(HttpStatusCode.OK, await LoginAsync(service, email, "another-long-one"));
    }
}
