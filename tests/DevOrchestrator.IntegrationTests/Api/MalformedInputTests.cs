using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.IntegrationTests.Api;

/// <summary>
/// Text neither database can store (NUL: PostgreSQL's <c>text</c> refuses it) and bodies System.Text.Json cannot read as
/// strings (invalid UTF-8, lone surrogates) are refused before any handler with the error envelope naming the field —
/// the same answer on SQLite and PostgreSQL.
/// </summary>
public sealed class MalformedInputTests
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonNode> AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, params string[] fields)
    {
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        var error = JsonNode.Parse(body)!["error"]!;
        Assert.Equal("VALIDATION_ERROR", (string?)error["code"]);
        var named = error["details"]!.AsObject().Select(kv => kv.Key).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(fields.Order(StringComparer.Ordinal).ToArray(), named);
        return error;
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Nul_in_any_field_is_a_422_naming_the_field_and_nothing_is_stored(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        using var admin = await service.ClientForNewUserAsync(Roles.Admin, ct);

        var login = await service.Client.PostAsync("/api/v1/auth/login", Json("""{"email": "a\u0000@example.com", "password": "x"}"""), ct);
        var error = await AssertErrorAsync(login, HttpStatusCode.UnprocessableEntity, "email");
        Assert.Equal("must not contain the NUL character (U+0000)", (string?)error["details"]!["email"]![0]);

        var task = await admin.PostAsync("/api/v1/tasks", Json("""{"title": "fix\u0000it", "variables": {"k": ["ok", "bad\u0000"]}}"""), ct);
        await AssertErrorAsync(task, HttpStatusCode.UnprocessableEntity, "title", "variables.k[1]");

        var project = await admin.PostAsync("/api/v1/projects", Json("""{"name": "p\u0000", "jira_project_key": "AB\u0000C"}"""), ct);
        await AssertErrorAsync(project, HttpStatusCode.UnprocessableEntity, "name", "jira_project_key");

        var plan = await admin.PostAsync("/api/v1/projects/1/generate-plan", Json("""{"requirements": ["fine", "not\u0000fine"]}"""), ct);
        await AssertErrorAsync(plan, HttpStatusCode.UnprocessableEntity, "requirements[1]");

        var key = await admin.PutAsync("/api/v1/plugins/version_control/github/config", Json("""{"GITHUB_\u0000TOKEN": "x"}"""), ct);
        await AssertErrorAsync(key, HttpStatusCode.UnprocessableEntity, "GITHUB_\0TOKEN");

        var query = await admin.GetAsync("/api/v1/tasks?source=%00&status=queued", ct);
        await AssertErrorAsync(query, HttpStatusCode.UnprocessableEntity, "source");

        var route = await admin.GetAsync("/api/v1/plugins/version_control/git%00hub/config", ct);
        Assert.True(route.StatusCode is HttpStatusCode.UnprocessableEntity or HttpStatusCode.BadRequest or HttpStatusCode.NotFound, route.StatusCode.ToString());

        Assert.Equal(0, await service.WithDbAsync(d => d.Tasks.CountAsync(ct)));
        Assert.Equal(0, await service.WithDbAsync(d => d.Projects.CountAsync(ct)));
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Lone_surrogates_invalid_utf8_deep_nesting_and_huge_bodies_are_refused_in_the_envelope(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        using var admin = await service.ClientForNewUserAsync(Roles.Admin, ct);

        var surrogate = await admin.PutAsync("/api/v1/plugins/version_control/github/config", Json("""{"GITHUB_TOKEN": "ab\ud800cd"}"""), ct);
        await AssertErrorAsync(surrogate, HttpStatusCode.BadRequest, "GITHUB_TOKEN");

        var surrogateKey = await admin.PutAsync("/api/v1/plugins/version_control/github/config", Json("""{"\udc00": "x"}"""), ct);
        await AssertErrorAsync(surrogateKey, HttpStatusCode.BadRequest, "(property name)");

        var bytes = new ByteArrayContent([.. Encoding.UTF8.GetBytes("""{"title": "a"""), 0xC3, 0x28, 0xFF, .. Encoding.UTF8.GetBytes("\"}")]);
        bytes.Headers.ContentType = new("application/json");
        var utf8 = await admin.PostAsync("/api/v1/tasks", bytes, ct);
        await AssertErrorAsync(utf8, HttpStatusCode.BadRequest, "title");

        var deep = await admin.PostAsync("/api/v1/tasks", Json("""{"title": "t", "variables": {"k": """ + new string('[', 10_000) + new string(']', 10_000) + "}}"), ct);
        var error = await AssertErrorAsync(deep, HttpStatusCode.BadRequest, "variables.k" + string.Concat(Enumerable.Repeat("[0]", 61)));
        Assert.Contains("deeper than 64", (string?)error["details"]!.AsObject().Single().Value![0], StringComparison.Ordinal);

        var huge = await admin.PostAsync("/api/v1/tasks", Json("{\"title\": \"" + new string('x', 5 * 1024 * 1024) + "\"}"), ct);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        var hugeError = await huge.ReadJsonAsync();
        Assert.False((bool)hugeError["success"]!);
        Assert.Equal("PAYLOAD_TOO_LARGE", (string?)hugeError["error"]!["code"]);
        Assert.Contains("API_MAX_BODY_BYTES", (string?)hugeError["error"]!["message"], StringComparison.Ordinal);

        Assert.Equal(0, await service.WithDbAsync(d => d.Tasks.CountAsync(ct)));
        Assert.Equal(0, await service.WithDbAsync(d => d.PluginConfigs.CountAsync(ct)));
    }
}
