using DevOrchestrator.Plugins.Slack;

namespace DevOrchestrator.UnitTests.Plugins.Slack;

public sealed class SlackMrkdwnTests
{
    [Fact]
    public void Escape_neutralises_mentions_links_and_entities()
    {
        Assert.Equal("&lt;!channel&gt; fix &amp;&lt;b&gt; &amp;amp;", SlackMrkdwn.Escape("<!channel> fix &<b> &amp;"));
        Assert.Equal("plain *bold* _it_", SlackMrkdwn.Escape("plain *bold* _it_"));
    }

    [Fact]
    public void Link_escapes_its_label_and_cannot_be_broken_out_of()
    {
        Assert.Equal("<https://github.com/o/r/pull/7|PR #7: a &lt;b&gt; ¦ c>", SlackMrkdwn.Link(new Uri("https://github.com/o/r/pull/7"), "PR #7: a <b> | c"));
        Assert.Equal("<https://example.com/a%7Cb%3E|x>", SlackMrkdwn.Link(new Uri("https://example.com/a|b>"), "x"));
    }
}
