using System.Security.Cryptography;
using System.Text;
using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Plugins.Jira;

namespace DevOrchestrator.UnitTests.Plugins.Jira;

public sealed class JiraWebhooksTests
{
    private const string Secret = "webhook-secret-for-tests";
    private const string Site = "https://acme.atlassian.net/";

    [Fact]
    public void A_sha256_signature_of_the_raw_body_verifies()
    {
        var body = Encoding.UTF8.GetBytes("""{"webhookEvent":"jira:issue_created"}""");
        var signature = Sign(Secret, body);

        Assert.True(JiraWebhooks.VerifySignature(Secret, body, "sha256=" + signature));
        Assert.True(JiraWebhooks.VerifySignature(Secret, body, "SHA256=" + signature.ToUpperInvariant()));
    }

    [Fact]
    public void Wrong_secret_tampered_body_or_malformed_headers_do_not_verify()
    {
        var body = Encoding.UTF8.GetBytes("""{"webhookEvent":"jira:issue_created"}""");
        var signature = Sign(Secret, body);
        var tampered = Encoding.UTF8.GetBytes("""{"webhookEvent":"jira:issue_created "}""");

        Assert.False(JiraWebhooks.VerifySignature("another-secret", body, "sha256=" + signature));
        Assert.False(JiraWebhooks.VerifySignature(Secret, tampered, "sha256=" + signature));
        Assert.False(JiraWebhooks.VerifySignature(Secret, body, null));
        Assert.False(JiraWebhooks.VerifySignature(Secret, body, ""));
        Assert.False(JiraWebhooks.VerifySignature(Secret, body, signature)); // no method
        Assert.False(JiraWebhooks.VerifySignature(Secret, body, "sha1=" + signature));
        Assert.False(JiraWebhooks.VerifySignature(Secret, body, "sha256=" + signature[..^2]));
        Assert.False(JiraWebhooks.VerifySignature(Secret, body, "sha256=" + new string('z', 64)));
        Assert.False(JiraWebhooks.VerifySignature("", body, "sha256=" + Sign("", body)));
    }

    [Fact]
    public void A_created_issue_with_the_intake_label_is_a_new_task()
    {
        var body = Payload("jira:issue_created", """
            "issue": {"id":"10001","key":"PROJ-7","fields":{
              "summary":"Add dark mode","labels":["ui","AI-DEV"],
              "project":{"id":"10000","key":"PROJ"},
              "description":{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"Make it dark."}]}]}}},
            "user": {"accountId":"5b10","displayName":"Ana Silva"}
            """);

        var item = JiraWebhooks.Parse(body, Site, "ai-dev");

        Assert.Equal(IntakeKind.NewTask, item.Kind);
        Assert.Equal("jira", item.Source);
        Assert.Equal("PROJ-7", item.ExternalId);
        Assert.Equal("PROJ", item.TrackerProjectKey);
        Assert.Equal("Add dark mode", item.Title);
        Assert.Equal("Make it dark.", item.Description);
        Assert.Equal("https://acme.atlassian.net/browse/PROJ-7", item.Url);
        Assert.Equal("Ana Silva", item.RequestedBy);
        Assert.Null(item.IgnoredReason);
    }

    [Fact]
    public void An_updated_issue_with_a_plain_string_description_and_no_display_name_uses_the_account_id()
    {
        var body = Payload("jira:issue_updated", """
            "issue": {"key":"OPS-3","fields":{"summary":"Rotate keys","labels":["ai-dev"],"description":"plain text body"}},
            "user": {"accountId":"5b10"}
            """);

        var item = JiraWebhooks.Parse(body, "https://acme.atlassian.net", "ai-dev");

        Assert.Equal(IntakeKind.NewTask, item.Kind);
        Assert.Equal("plain text body", item.Description);
        Assert.Equal("OPS", item.TrackerProjectKey); // from the key when the payload has no project
        Assert.Equal("5b10", item.RequestedBy);
        Assert.Equal("https://acme.atlassian.net/browse/OPS-3", item.Url);
    }

    [Fact]
    public void Issues_without_the_label_and_other_events_are_ignored_with_a_reason()
    {
        var unlabelled = JiraWebhooks.Parse(Payload("jira:issue_created", """
            "issue": {"key":"PROJ-8","fields":{"summary":"Not for us","labels":["ui"]}}
            """), Site, "ai-dev");
        var comment = JiraWebhooks.Parse(Payload("comment_created", """ "comment": {"id":"1"} """), Site, "ai-dev");

        Assert.Equal(IntakeKind.Ignored, unlabelled.Kind);
        Assert.Contains("PROJ-8", unlabelled.IgnoredReason, StringComparison.Ordinal);
        Assert.Contains("ai-dev", unlabelled.IgnoredReason, StringComparison.Ordinal);
        Assert.Equal(IntakeKind.Ignored, comment.Kind);
        Assert.Contains("comment_created", comment.IgnoredReason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"issue":{}}""", "webhookEvent")]
    [InlineData("""{"webhookEvent":"jira:issue_created"}""", "'issue'")]
    [InlineData("""{"webhookEvent":"jira:issue_created","issue":{"fields":{"summary":"x"}}}""", "issue.key")]
    [InlineData("""{"webhookEvent":"jira:issue_updated","issue":{"key":"P-1"}}""", "issue.fields")]
    [InlineData("""{"webhookEvent":"jira:issue_updated","issue":{"key":"P-1","fields":{"labels":["ai-dev"]}}}""", "issue.fields.summary")]
    [InlineData("""[1,2]""", "not a JSON object")]
    [InlineData("""{not json""", "not valid JSON")]
    public void Malformed_payloads_name_what_is_missing(string json, string expected)
    {
        var error = Assert.Throws<MalformedPayloadException>(() => JiraWebhooks.Parse(Encoding.UTF8.GetBytes(json), Site, "ai-dev"));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_polled_issue_becomes_the_same_intake_item_as_a_webhook()
    {
        var issue = new TrackerIssue("PROJ-9", "10009", "Polled", "Body", "To Do", "Task", "PROJ", ["ai-dev"], "https://acme.atlassian.net/browse/PROJ-9");

        var item = JiraWebhooks.ToIntake(issue);

        Assert.Equal(new IntakeItem(IntakeKind.NewTask, "jira", "PROJ-9", "Polled", "Body")
        {
            TrackerProjectKey = "PROJ",
            Url = "https://acme.atlassian.net/browse/PROJ-9",
        }, item);
    }

    private static byte[] Payload(string webhookEvent, string rest) =>
        Encoding.UTF8.GetBytes($$"""{"timestamp":1700000000000,"webhookEvent":"{{webhookEvent}}",{{rest}}}""");

    private static string Sign(string secret, byte[] body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));
}
