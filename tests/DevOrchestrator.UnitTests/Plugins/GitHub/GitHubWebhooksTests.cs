using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Plugins.GitHub;

namespace DevOrchestrator.UnitTests.Plugins.GitHub;

public sealed class GitHubWebhooksTests
{
    private const string Secret = "It's a Secret to Everybody";

    // ---------------------------------------------------------------- signatures

    [Fact]
    public void GitHub_s_documented_example_signature_verifies()
    {
        // From GitHub's "Validating webhook deliveries" page.
        var body = "Hello, World!"u8;
        Assert.True(GitHubWebhooks.VerifySignature(Secret, body, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"));
    }

    [Fact]
    public void A_signature_of_this_body_under_this_secret_verifies()
    {
        var body = Encoding.UTF8.GetBytes("""{"action":"opened"}""");
        Assert.True(GitHubWebhooks.VerifySignature(Secret, body, Sign(Secret, body)));
        Assert.True(GitHubWebhooks.VerifySignature(Secret, body, Sign(Secret, body).ToUpperInvariant().Replace("SHA256=", "sha256=", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_changed_body_fails()
    {
        var body = Encoding.UTF8.GetBytes("""{"action":"opened"}""");
        Assert.False(GitHubWebhooks.VerifySignature(Secret, Encoding.UTF8.GetBytes("""{"action":"closed"}"""), Sign(Secret, body)));
    }

    [Fact]
    public void Another_secret_fails()
    {
        var body = Encoding.UTF8.GetBytes("{}");
        Assert.False(GitHubWebhooks.VerifySignature(Secret, body, Sign("another secret", body)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("sha256=")]
    [InlineData("sha1=0123456789abcdef0123456789abcdef01234567")]
    [InlineData("757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")]
    [InlineData("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1")]
    [InlineData("sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")]
    [InlineData("SHA256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")]
    public void Missing_or_malformed_headers_fail(string? header)
    {
        Assert.False(GitHubWebhooks.VerifySignature(Secret, "Hello, World!"u8, header));
    }

    [Fact]
    public void An_empty_secret_never_verifies()
    {
        var body = Encoding.UTF8.GetBytes("{}");
        Assert.False(GitHubWebhooks.VerifySignature("", body, Sign("", body)));
    }

    // ---------------------------------------------------------------- issues

    [Fact]
    public void Issue_labeled_with_the_intake_label_is_a_new_task()
    {
        var item = Parse("issues", IssueEvent("labeled", label: "devorch"));

        Assert.Equal(IntakeKind.NewTask, item.Kind);
        Assert.Equal("github", item.Source);
        Assert.Equal("acme/widgets#42", item.ExternalId);
        Assert.Equal("Crash on start", item.Title);
        Assert.Equal("It crashes.", item.Description);
        Assert.Equal("https://github.com/acme/widgets", item.RepositoryUrl);
        Assert.Equal("https://github.com/acme/widgets/issues/42", item.Url);
        Assert.Equal("octocat", item.RequestedBy);
        Assert.Null(item.PullRequestNumber);
    }

    [Fact]
    public void The_label_match_ignores_case_and_a_null_body_is_no_description()
    {
        var payload = IssueEvent("labeled", label: "DevOrch");
        payload["issue"]!["body"] = null;

        var item = Parse("issues", payload);

        Assert.Equal(IntakeKind.NewTask, item.Kind);
        Assert.Null(item.Description);
    }

    [Fact]
    public void Issue_labeled_with_another_label_is_ignored()
    {
        var item = Parse("issues", IssueEvent("labeled", label: "bug"));

        Assert.Equal(IntakeKind.Ignored, item.Kind);
        Assert.Contains("bug", item.IgnoredReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Issue_opened_with_the_label_already_on_it_is_a_new_task()
    {
        var item = Parse("issues", IssueEvent("opened", labels: ["bug", "devorch"]));

        Assert.Equal(IntakeKind.NewTask, item.Kind);
        Assert.Equal("acme/widgets#42", item.ExternalId);
    }

    [Fact]
    public void Issue_opened_without_the_label_is_ignored()
    {
        Assert.Equal(IntakeKind.Ignored, Parse("issues", IssueEvent("opened", labels: ["bug"])).Kind);
    }

    [Theory]
    [InlineData("closed")]
    [InlineData("unlabeled")]
    [InlineData("edited")]
    public void Other_issue_actions_are_ignored(string action)
    {
        var item = Parse("issues", IssueEvent(action, label: "devorch"));

        Assert.Equal(IntakeKind.Ignored, item.Kind);
        Assert.Contains(action, item.IgnoredReason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_custom_intake_label_is_used()
    {
        var item = GitHubWebhooks.Parse("issues", Bytes(IssueEvent("labeled", label: "ai-task")), "ai-task", "/devorch");
        Assert.Equal(IntakeKind.NewTask, item.Kind);
    }

    // ---------------------------------------------------------------- comments

    [Fact]
    public void Command_on_a_pull_request_is_feedback()
    {
        var item = Parse("issue_comment", CommentEvent("/devorch please rename the method\nand add a test", pullRequest: true));

        Assert.Equal(IntakeKind.Feedback, item.Kind);
        Assert.Equal(42, item.PullRequestNumber);
        Assert.Equal("please rename the method\nand add a test", item.Feedback);
        Assert.Equal("acme/widgets#42", item.ExternalId);
        Assert.Equal("https://github.com/acme/widgets", item.RepositoryUrl);
        Assert.Equal("octocat", item.RequestedBy);
    }

    [Fact]
    public void Command_on_an_issue_is_a_new_task_with_the_request_appended()
    {
        var item = Parse("issue_comment", CommentEvent("  /devorch use the new API", pullRequest: false));

        Assert.Equal(IntakeKind.NewTask, item.Kind);
        Assert.Equal("acme/widgets#42", item.ExternalId);
        Assert.Equal("Crash on start", item.Title);
        Assert.Equal("It crashes.\n\nRequest: use the new API", item.Description);
        Assert.Null(item.PullRequestNumber);
    }

    [Fact]
    public void The_bare_command_on_an_issue_takes_the_issue_as_it_is()
    {
        var item = Parse("issue_comment", CommentEvent("/devorch", pullRequest: false));

        Assert.Equal(IntakeKind.NewTask, item.Kind);
        Assert.Equal("It crashes.", item.Description);
    }

    [Theory]
    [InlineData("Looks good to me")]
    [InlineData("/devorchestrate this")]
    [InlineData("please /devorch this")]
    public void Comments_without_the_command_are_ignored(string body)
    {
        Assert.Equal(IntakeKind.Ignored, Parse("issue_comment", CommentEvent(body, pullRequest: true)).Kind);
    }

    [Fact]
    public void The_bare_command_on_a_pull_request_is_ignored_for_lack_of_feedback()
    {
        Assert.Equal(IntakeKind.Ignored, Parse("issue_comment", CommentEvent("/devorch   ", pullRequest: true)).Kind);
    }

    [Fact]
    public void Edited_comments_and_comments_by_bots_are_ignored()
    {
        var edited = CommentEvent("/devorch again", pullRequest: true);
        edited["action"] = "edited";
        var byBot = CommentEvent("/devorch again", pullRequest: true);
        byBot["sender"]!["type"] = "Bot";

        Assert.Equal(IntakeKind.Ignored, Parse("issue_comment", edited).Kind);
        Assert.Equal(IntakeKind.Ignored, Parse("issue_comment", byBot).Kind);
    }

    [Fact]
    public void A_custom_command_is_used()
    {
        var item = GitHubWebhooks.Parse("issue_comment", Bytes(CommentEvent("@ai fix it", pullRequest: true)), "devorch", "@ai");
        Assert.Equal(("fix it", IntakeKind.Feedback), (item.Feedback, item.Kind));
    }

    // ---------------------------------------------------------------- other events and malformed payloads

    [Theory]
    [InlineData("ping")]
    [InlineData("push")]
    [InlineData("pull_request")]
    public void Ping_and_other_events_are_ignored(string eventName)
    {
        var item = Parse(eventName, new JsonObject { ["zen"] = "Keep it logically awesome.", ["hook_id"] = 1 });

        Assert.Equal(IntakeKind.Ignored, item.Kind);
        Assert.False(string.IsNullOrEmpty(item.IgnoredReason));
    }

    [Theory]
    [InlineData("issue.number")]
    [InlineData("issue.title")]
    [InlineData("issue.html_url")]
    [InlineData("repository.full_name")]
    [InlineData("repository.html_url")]
    [InlineData("sender.login")]
    [InlineData("label.name")]
    public void A_missing_field_is_malformed_and_named(string path)
    {
        var payload = IssueEvent("labeled", label: "devorch");
        var parts = path.Split('.');
        payload[parts[0]]!.AsObject().Remove(parts[1]);

        var ex = Assert.Throws<MalformedPayloadException>(() => Parse("issues", payload));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ill_typed_fields_are_malformed_and_named()
    {
        var numberAsText = IssueEvent("labeled", label: "devorch");
        numberAsText["issue"]!["number"] = "42";
        var bodyAsNumber = CommentEvent("/devorch x", pullRequest: true);
        bodyAsNumber["comment"]!["body"] = 7;
        var noAction = IssueEvent("labeled", label: "devorch");
        noAction.Remove("action");

        Assert.Contains("issue.number", Assert.Throws<MalformedPayloadException>(() => Parse("issues", numberAsText)).Message, StringComparison.Ordinal);
        Assert.Contains("comment.body", Assert.Throws<MalformedPayloadException>(() => Parse("issue_comment", bodyAsNumber)).Message, StringComparison.Ordinal);
        Assert.Contains("action", Assert.Throws<MalformedPayloadException>(() => Parse("issues", noAction)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("")]
    public void A_body_that_is_not_a_json_object_is_malformed(string body)
    {
        Assert.Throws<MalformedPayloadException>(() => GitHubWebhooks.Parse("issues", Encoding.UTF8.GetBytes(body), "devorch", "/devorch"));
    }

    private static IntakeItem Parse(string eventName, JsonObject payload) => GitHubWebhooks.Parse(eventName, Bytes(payload), "devorch", "/devorch");

    private static byte[] Bytes(JsonObject payload) => Encoding.UTF8.GetBytes(payload.ToJsonString());

    private static string Sign(string secret, byte[] body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary>The parts of GitHub's <c>issues</c> payload we read (plus a few neighbours), as documented.</summary>
    private static JsonObject IssueEvent(string action, string? label = null, string[]? labels = null)
    {
        var payload = new JsonObject
        {
            ["action"] = action,
            ["issue"] = Issue(labels ?? (label is null ? [] : [label])),
            ["repository"] = Repository(),
            ["sender"] = new JsonObject { ["login"] = "octocat", ["id"] = 1, ["type"] = "User" },
        };
        if (label is not null)
        {
            payload["label"] = new JsonObject { ["id"] = 208045946, ["name"] = label, ["color"] = "f29513", ["default"] = false };
        }

        return payload;
    }

    private static JsonObject CommentEvent(string body, bool pullRequest)
    {
        var issue = Issue([]);
        if (pullRequest)
        {
            issue["pull_request"] = new JsonObject { ["url"] = "https://api.github.com/repos/acme/widgets/pulls/42", ["html_url"] = "https://github.com/acme/widgets/pull/42" };
        }

        return new JsonObject
        {
            ["action"] = "created",
            ["issue"] = issue,
            ["comment"] = new JsonObject { ["id"] = 1001, ["body"] = body, ["user"] = new JsonObject { ["login"] = "octocat" } },
            ["repository"] = Repository(),
            ["sender"] = new JsonObject { ["login"] = "octocat", ["id"] = 1, ["type"] = "User" },
        };
    }

    private static JsonObject Issue(string[] labels) => new()
    {
        ["id"] = 1,
        ["number"] = 42,
        ["title"] = "Crash on start",
        ["body"] = "It crashes.",
        ["state"] = "open",
        ["html_url"] = "https://github.com/acme/widgets/issues/42",
        ["labels"] = new JsonArray(labels.Select(l => (JsonNode)new JsonObject { ["name"] = l, ["color"] = "ededed" }).ToArray()),
        ["user"] = new JsonObject { ["login"] = "octocat" },
    };

    private static JsonObject Repository() => new()
    {
        ["id"] = 1296269,
        ["name"] = "widgets",
        ["full_name"] = "acme/widgets",
        ["html_url"] = "https://github.com/acme/widgets",
        ["clone_url"] = "https://github.com/acme/widgets.git",
        ["private"] = false,
    };
}
