using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Plugins.Slack;

namespace DevOrchestrator.UnitTests.Plugins.Slack;

public sealed class SlackSlashCommandTests
{
    private static Dictionary<string, string> Form(string text, string command = "/devorch") => new(StringComparer.Ordinal)
    {
        ["token"] = "verification-token-unused",
        ["team_id"] = "T0001",
        ["team_domain"] = "example",
        ["channel_id"] = "C2147483705",
        ["channel_name"] = "backend",
        ["user_id"] = "U2147483697",
        ["user_name"] = "steve",
        ["command"] = command,
        ["text"] = text,
        ["api_app_id"] = "A123456",
        ["response_url"] = "https://hooks.slack.com/commands/1234/5678",
        ["trigger_id"] = "13345224609.738474920.8088930838d88f008e0",
    };

    [Fact]
    public void Text_becomes_a_new_task_keyed_by_team_and_trigger()
    {
        var item = SlackSlashCommand.Parse(Form("Add a /health endpoint to the API\nIt should return 200 and the version."), "/devorch");

        Assert.Equal(IntakeKind.NewTask, item.Kind);
        Assert.Equal("slack", item.Source);
        Assert.Equal("T0001:13345224609.738474920.8088930838d88f008e0", item.ExternalId);
        Assert.Equal("Add a /health endpoint to the API", item.Title);
        Assert.Equal("Add a /health endpoint to the API\nIt should return 200 and the version.", item.Description);
        Assert.Equal("C2147483705", item.Channel);
        Assert.Equal("backend", item.ChannelName);
        Assert.Equal("steve", item.RequestedBy);
        Assert.Null(item.IgnoredReason);
        Assert.Null(item.RepositoryUrl);
    }

    [Fact]
    public void A_long_first_line_is_cut_to_120_characters()
    {
        var text = new string('a', 119) + "😀" + new string('b', 50);

        var item = SlackSlashCommand.Parse(Form(text), "/devorch");

        // 119 characters and half an emoji would be 120; the surrogate pair is not split.
        Assert.Equal(new string('a', 119), item.Title);
        Assert.Equal(text, item.Description);
        Assert.Equal(new string('x', 120), SlackSlashCommand.Parse(Form(new string('x', 130)), "/devorch").Title);
        Assert.Equal(new string('x', 120), SlackSlashCommand.Parse(Form(new string('x', 120)), "/devorch").Title);
    }

    [Fact]
    public void Another_command_is_ignored()
    {
        var item = SlackSlashCommand.Parse(Form("deploy prod", command: "/deploy"), "/devorch");

        Assert.Equal(IntakeKind.Ignored, item.Kind);
        Assert.Contains("/deploy", item.IgnoredReason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_configured_command_is_matched()
    {
        Assert.Equal(IntakeKind.NewTask, SlackSlashCommand.Parse(Form("fix the login bug", command: "/dev"), "/dev").Kind);
        Assert.Equal(IntakeKind.Ignored, SlackSlashCommand.Parse(Form("fix the login bug", command: "/devorch"), "/dev").Kind);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("help")]
    [InlineData(" HELP ")]
    public void Empty_text_or_help_is_ignored_with_usage(string text)
    {
        var item = SlackSlashCommand.Parse(Form(text), "/devorch");

        Assert.Equal(IntakeKind.Ignored, item.Kind);
        Assert.StartsWith("usage: /devorch ", item.IgnoredReason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("channel_id")]
    [InlineData("user_id")]
    [InlineData("trigger_id")]
    [InlineData("command")]
    public void A_missing_field_is_a_malformed_payload_naming_it(string field)
    {
        var form = Form("do something");
        form.Remove(field);

        var ex = Assert.Throws<MalformedPayloadException>(() => SlackSlashCommand.Parse(form, "/devorch"));

        Assert.Contains($"'{field}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_required_field_is_missing_too()
    {
        var form = Form("do something");
        form["trigger_id"] = "";

        Assert.Throws<MalformedPayloadException>(() => SlackSlashCommand.Parse(form, "/devorch"));
    }

    [Fact]
    public void Without_a_user_name_the_user_id_is_the_requester()
    {
        var form = Form("do something");
        form.Remove("user_name");

        Assert.Equal("U2147483697", SlackSlashCommand.Parse(form, "/devorch").RequestedBy);
    }
}
