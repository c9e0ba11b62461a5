using System.Net;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.IntegrationTests.Agents;

/// <summary>
/// <c>generate-plan</c> with model answers that hold no readable plan — malformed, truncated, empty, or text neither
/// database can store — and provider responses that are not the vendor's format: always the documented 422 or 503 with
/// the reason, never a 500, and nothing stored.
/// </summary>
public sealed class PlanningAnswerTests
{
    private static readonly object s_request = new { requirements = new[] { "Users sign up with an email address" } };

    public static TheoryData<Db, string, string> UnreadableAnswers => new()
    {
        { Db.Postgres, "malformed", """{"epics": [{"title": "A", "tasks": [}, oops]""" },
        { Db.Sqlite, "malformed", """{"epics": [{"title": "A", "tasks": [}, oops]""" },
        { Db.Postgres, "truncated", """{"epics": [{"title": "Accounts", "description": "Let people sign up", "tasks": [{"title": "Sign-up endp""" },
        { Db.Postgres, "empty", "" },
        { Db.Postgres, "blank", "   \n  " },
        { Db.Postgres, "duplicate keys", """{"epics": [{"title": "A"}], "EPICS": [{"title": "B"}]}""" },
        { Db.Postgres, "duplicate title keys", """{"epics": [{"title": "A", "Title": "B"}]}""" },
        { Db.Postgres, "lone surrogate", """{"epics": [{"title": "A\ud800"}]}""" },
        { Db.Postgres, "deep nesting", """{"epics": [{"title": "A", "tasks": """ + new string('[', 5000) + new string(']', 5000) + "}]}" },
        { Db.Postgres, "wrong types", """{"epics": [{"title": {"x": 1}, "tasks": 5}, 7, null, "e"]}""" },
    };

    [Theory]
    [MemberData(nameof(UnreadableAnswers))]
    public async Task An_answer_with_no_readable_plan_is_a_422_with_the_reason(Db db, string kind, string answer)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var harness = await AgentHarness.StartAsync(db, cancellationToken: ct);
        harness.Model.Enqueue(FakeReply.Text(answer, kind == "truncated" ? FakeStopReason.MaxTokens : FakeStopReason.EndTurn));

        var response = await harness.Client.PostJsonAsync($"/api/v1/projects/{harness.ProjectId}/generate-plan", s_request);
        var json = await response.ReadJsonAsync();
        Assert.True(response.StatusCode == HttpStatusCode.UnprocessableEntity, $"{kind}: {(int)response.StatusCode} {json.ToJsonString()}");
        Assert.Equal("UNPROCESSABLE", (string?)json["error"]!["code"]);
        Assert.StartsWith("No plan was stored: the planning model's answer", (string?)json["error"]!["message"], StringComparison.Ordinal);
        if (kind == "truncated")
        {
            Assert.Contains("cut at the output limit", (string?)json["error"]!["message"], StringComparison.Ordinal);
        }

        await using var d = harness.Service.State.OpenDb();
        Assert.Equal(0, await d.Tasks.CountAsync(ct));
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Nul_in_a_planned_title_is_stored_replaced(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var harness = await AgentHarness.StartAsync(db, cancellationToken: ct);
        harness.Model.Enqueue(FakeReply.Text("""{"epics": [{"title": "Acc\u0000ounts", "description": "d\u0000", "acceptance_criteria": ["c\u0000"], "tasks": [{"title": "T\u0000"}]}]}"""));

        var response = await harness.Client.PostJsonAsync($"/api/v1/projects/{harness.ProjectId}/generate-plan", s_request);
        var json = await response.ReadJsonAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, json.ToJsonString());
        await using var d = harness.Service.State.OpenDb();
        var titles = await d.Tasks.OrderBy(t => t.Id).Select(t => t.Title).ToListAsync(ct);
        Assert.Equal(["Acc\uFFFDounts", "T\uFFFD"], titles);
    }

    public static TheoryData<string, string, bool> BrokenResponses => new()
    {
        { "anthropic", "{\"id\": \"msg_1\", \"type\": \"mess", false },
        { "anthropic", "", false },
        { "anthropic", "<html>bad gateway</html>", false },
        { "anthropic", "{\"id\": \"msg_1\", \"type\": \"message\", \"content\": [{\"type\": \"text\", \"text\": \"{\\\"epics\\\"", true },
        { "openai", "{\"id\": \"chatcmpl-1\", \"choi", false },
        { "openai", "", false },
        { "openai", "{\"id\": \"chatcmpl-1\", \"object\": \"chat.completion\", \"choices\": [{\"index\": 0, \"message\": {\"role\": \"assistant\", \"content\": \"{", true },
    };

    [Theory]
    [MemberData(nameof(BrokenResponses))]
    public async Task A_provider_response_that_is_not_the_vendors_format_is_a_503_with_the_reason(string provider, string body, bool cut)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var harness = await AgentHarness.StartAsync(Db.Postgres, provider, new Dictionary<string, string?> { ["MODEL_RETRY_ATTEMPTS"] = "0" }, cancellationToken: ct);
        for (var i = 0; i < 5; i++)
        {
            harness.Model.Enqueue(new FakeRawReply(body, CutAfterBody: cut));
        }

        var response = await harness.Client.PostJsonAsync($"/api/v1/projects/{harness.ProjectId}/generate-plan", s_request);
        var json = await response.ReadJsonAsync();
        Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)response.StatusCode} {json.ToJsonString()}");
        Assert.Equal("SERVICE_UNAVAILABLE", (string?)json["error"]!["code"]);
        Assert.Contains("planning", (string?)json["error"]!["message"], StringComparison.Ordinal);

        await using var d = harness.Service.State.OpenDb();
        Assert.Equal(0, await d.Tasks.CountAsync(ct));
    }
}
