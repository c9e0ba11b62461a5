using System.Net;
using System.Text;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.IntegrationTests.Integrations;

/// <summary>
/// Webhook bodies are opaque, signed vendor text: NUL in them is stored (as U+FFFD), text that is not Unicode is a 400,
/// and a delivery whose insert fails for any reason but a true duplicate is a 5xx the vendor retries — never a 409.
/// </summary>
public sealed class WebhookInputTests
{
    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task A_delivery_whose_insert_fails_for_another_reason_is_a_5xx_and_its_retry_becomes_the_task(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var h = await IntegrationsHarness.StartAsync(db, ct);
        Task<int> Sql(string sql) => h.Service.WithDbAsync(d => d.Database.ExecuteSqlRawAsync(sql, ct));

        // A delivery without the intake label is recorded as ignored (event "jira").
        using (var ignored = await h.PostJiraWebhookAsync(IntegrationsHarness.JiraIssueEvent("APP-1", "APP", "Not for us", "x"), "jira-d-0"))
        {
            Assert.Equal(HttpStatusCode.OK, ignored.StatusCode);
        }

        // A unique key that has nothing to do with duplicates (one delivery per event name): the next insert breaks it.
        await Sql("CREATE UNIQUE INDEX test_one_per_event ON webhook_deliveries (event)");
        var body = IntegrationsHarness.JiraIssueEvent("APP-2", "APP", "Do the thing", "Please.", "ai-dev");
        using (var failed = await h.PostJiraWebhookAsync(body, "jira-d-1"))
        {
            var json = await failed.ReadJsonAsync();
            Assert.True((int)failed.StatusCode >= 500, $"{(int)failed.StatusCode}: {json.ToJsonString()}");
            Assert.False((bool)json["success"]!);
        }

        Assert.Equal(0, await h.TaskCountAsync());
        await Sql("DROP INDEX test_one_per_event");

        // Another constraint (a trigger that refuses every insert): not a duplicate either.
        await Sql(db == Db.Postgres
            ? "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE check_violation USING MESSAGE = 'refused by the test'; END $$; "
              + "CREATE TRIGGER test_refuse BEFORE INSERT ON webhook_deliveries FOR EACH ROW EXECUTE FUNCTION test_refuse();"
            : "CREATE TRIGGER test_refuse BEFORE INSERT ON webhook_deliveries BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;");
        using (var failed = await h.PostJiraWebhookAsync(body, "jira-d-1"))
        {
            var json = await failed.ReadJsonAsync();
            Assert.True((int)failed.StatusCode >= 500, $"{(int)failed.StatusCode}: {json.ToJsonString()}");
            Assert.Equal("INTERNAL_ERROR", (string?)json["error"]!["code"]);
        }

        Assert.Equal(0, await h.TaskCountAsync());
        await Sql(db == Db.Postgres ? "DROP TRIGGER test_refuse ON webhook_deliveries" : "DROP TRIGGER test_refuse");

        // The vendor's retry of the same delivery is accepted: the event was not lost.
        using (var retried = await h.PostJiraWebhookAsync(body, "jira-d-1"))
        {
            var json = await retried.ReadJsonAsync();
            Assert.True(retried.StatusCode == HttpStatusCode.Accepted, json.ToJsonString());
        }

        Assert.Equal(1, await h.TaskCountAsync());

        // And a true replay is still a replay.
        using var replay = await h.PostJiraWebhookAsync(body, "jira-d-1");
        Assert.Equal(HttpStatusCode.Conflict, replay.StatusCode);
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Nul_in_a_payload_is_stored_replaced_and_text_that_is_not_unicode_is_a_400(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var h = await IntegrationsHarness.StartAsync(db, ct);

        using (var withNul = await h.PostJiraWebhookAsync(IntegrationsHarness.JiraIssueEvent("APP-3", "APP", "Fix\0it", "line\0two", "ai-dev"), "jira-nul"))
        {
            var json = await withNul.ReadJsonAsync();
            Assert.True(withNul.StatusCode == HttpStatusCode.Accepted, json.ToJsonString());
        }

        var task = await h.Service.WithDbAsync(d => d.Tasks.AsNoTracking().SingleAsync(ct));
        Assert.Equal("Fix\uFFFDit", task.Title);
        Assert.Contains("line\uFFFDtwo", task.Description, StringComparison.Ordinal);

        var surrogate = Encoding.UTF8.GetString(IntegrationsHarness.JiraIssueEvent("APP-4", "APP", "SURROGATE", "x", "ai-dev")).Replace("SURROGATE", "\\ud800", StringComparison.Ordinal);
        using (var lone = await h.PostJiraWebhookAsync(Encoding.UTF8.GetBytes(surrogate), "jira-surrogate"))
        {
            var json = await lone.ReadJsonAsync();
            Assert.True(lone.StatusCode == HttpStatusCode.BadRequest, json.ToJsonString());
            Assert.Equal("VALIDATION_ERROR", (string?)json["error"]!["code"]);
        }

        var bytes = IntegrationsHarness.JiraIssueEvent("APP-5", "APP", "BADBYTES", "x", "ai-dev");
        var at = Encoding.UTF8.GetString(bytes).IndexOf("BADBYTES", StringComparison.Ordinal);
        bytes[at] = 0xFF;
        bytes[at + 1] = 0xC3;
        using (var invalid = await h.PostJiraWebhookAsync(bytes, "jira-bytes"))
        {
            var json = await invalid.ReadJsonAsync();
            Assert.True(invalid.StatusCode == HttpStatusCode.BadRequest, json.ToJsonString());
        }

        Assert.Equal(1, await h.TaskCountAsync());

        // A slash command's form: NUL in the text and in the trigger id (its delivery id) is stored replaced too.
        var form = $"team_id={h.Slack.TeamId}&channel_id={IntegrationsHarness.Channel}&channel_name=app-dev&user_id=U0FAKEUSR1&user_name=ada"
            + "&command=%2Fdevorch&text=fix%00it&trigger_id=t%00nul&api_app_id=A0FAKE";
        var ts = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var slack = new HttpRequestMessage(HttpMethod.Post, "/webhooks/slack/commands") { Content = new StringContent(form, Encoding.UTF8, "application/x-www-form-urlencoded") };
        slack.Headers.Add("X-Slack-Request-Timestamp", ts);
        slack.Headers.Add("X-Slack-Signature", "v0=" + Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(
            Encoding.UTF8.GetBytes(IntegrationsHarness.SlackSigningSecret), Encoding.UTF8.GetBytes($"v0:{ts}:{form}"))));
        using var anonymous = new HttpClient { BaseAddress = h.Service.Address };
        using (var command = await anonymous.SendAsync(slack, ct))
        {
            var text = await command.Content.ReadAsStringAsync(ct);
            Assert.True(command.StatusCode == HttpStatusCode.OK, $"{(int)command.StatusCode} {text}");
            Assert.Contains("queued", text, StringComparison.Ordinal);
        }

        Assert.Equal(2, await h.TaskCountAsync());
        Assert.True(await h.Service.WithDbAsync(d => d.WebhookDeliveries.AnyAsync(w => w.DeliveryId.Contains("t\uFFFDnul"), ct)));
    }
}
