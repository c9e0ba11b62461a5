using System.Xml.Linq;
using DevOrchestrator.Plugins.Confluence;

namespace DevOrchestrator.UnitTests.Plugins.Confluence;

public sealed class ConfluenceStorageFormatTests
{
    private static readonly XNamespace Ac = "http://atlassian.com/content";

    [Fact]
    public void Escape_turns_markup_characters_and_quotes_into_entities()
    {
        Assert.Equal("a &lt;b&gt; &amp; &quot;c&quot; &#39;d&#39;", ConfluenceStorageFormat.Escape("a <b> & \"c\" 'd'"));
        Assert.Equal("&amp;amp;", ConfluenceStorageFormat.Escape("&amp;"));
        Assert.Equal("", ConfluenceStorageFormat.Escape(null));
    }

    [Fact]
    public void Escape_drops_characters_XML_does_not_allow_and_keeps_the_rest()
    {
        Assert.Equal("ab\tc\nd", ConfluenceStorageFormat.Escape("a\u0000b\tc\n\u0008d"));
        Assert.Equal("x😀y", ConfluenceStorageFormat.Escape("x😀y"));
        Assert.Equal("xy", ConfluenceStorageFormat.Escape("x\ud800y")); // a lone surrogate
        Assert.Equal("éß中", ConfluenceStorageFormat.Escape("éß中"));
    }

    [Fact]
    public void Paragraphs_split_on_blank_lines_and_keep_single_line_breaks()
    {
        var html = ConfluenceStorageFormat.Paragraphs("First <line>\r\nsecond & line\n\n  \nNext \"para\"\n");

        Assert.Equal("<p>First &lt;line&gt;<br />second &amp; line</p><p>Next &quot;para&quot;</p>", html);
        Assert.Equal("", ConfluenceStorageFormat.Paragraphs("  \n "));
        Assert.Equal("", ConfluenceStorageFormat.Paragraphs(null));
        Assert.NotNull(Parse(html));
    }

    [Fact]
    public void Link_escapes_the_address_and_the_text()
    {
        var html = ConfluenceStorageFormat.Link("https://example.test/pr?a=1&b=\"2\"", "PR <#7>");

        Assert.Equal("<a href=\"https://example.test/pr?a=1&amp;b=%222%22\">PR &lt;#7&gt;</a>", html);
        var a = Parse(html).Root!.Element("a")!;
        Assert.Equal("https://example.test/pr?a=1&b=%222%22", (string?)a.Attribute("href"));
        Assert.Equal("PR <#7>", a.Value);
        Assert.Equal("<a href=\"https://example.test/\">https://example.test/</a>", ConfluenceStorageFormat.Link("https://example.test/", null));
    }

    [Theory]
    [InlineData("javascript:alert(1)")]
    [InlineData("/relative/path")]
    [InlineData("file:///etc/passwd")]
    public void Link_renders_only_the_text_for_addresses_that_are_not_http_or_mailto(string url)
    {
        Assert.Equal("click &amp; see", ConfluenceStorageFormat.Link(url, "click & see"));
    }

    [Fact]
    public void Table_puts_each_escaped_row_in_a_header_and_a_cell()
    {
        var html = ConfluenceStorageFormat.Table([("Branch", "feature/<x>"), ("Cost", "$1 & change")]);

        Assert.Equal(
            "<table><tbody><tr><th>Branch</th><td>feature/&lt;x&gt;</td></tr><tr><th>Cost</th><td>$1 &amp; change</td></tr></tbody></table>",
            html);
        Assert.Equal("", ConfluenceStorageFormat.Table([]));
        Assert.Equal(2, Parse(html).Descendants("tr").Count());
    }

    [Fact]
    public void Code_is_the_code_macro_with_the_text_verbatim_in_CDATA()
    {
        var html = ConfluenceStorageFormat.Code("if (a < b && c) { x = \"<p>\"; }", "csharp");

        Assert.Equal(
            "<ac:structured-macro ac:name=\"code\" ac:schema-version=\"1\"><ac:parameter ac:name=\"language\">csharp</ac:parameter>"
            + "<ac:plain-text-body><![CDATA[if (a < b && c) { x = \"<p>\"; }]]></ac:plain-text-body></ac:structured-macro>",
            html);
        var macro = Parse(html).Root!.Element(Ac + "structured-macro")!;
        Assert.Equal("code", (string?)macro.Attribute(Ac + "name"));
        Assert.Equal("if (a < b && c) { x = \"<p>\"; }", macro.Element(Ac + "plain-text-body")!.Value);
    }

    [Theory]
    [InlineData("a]]>b")]
    [InlineData("]]>")]
    [InlineData("x]]]>y]]>>z")]
    [InlineData("<![CDATA[ nested ]]> </ac:plain-text-body><script>")]
    public void Code_splits_CDATA_terminators_so_the_text_survives_exactly(string text)
    {
        var html = ConfluenceStorageFormat.Code(text, null);

        Assert.DoesNotContain("ac:parameter", html, StringComparison.Ordinal);
        Assert.EndsWith("]]></ac:plain-text-body></ac:structured-macro>", html, StringComparison.Ordinal);
        var macro = Parse(html).Root!.Elements().Single();
        Assert.Equal(Ac + "structured-macro", macro.Name);
        var body = macro.Elements().Single();
        Assert.Equal(Ac + "plain-text-body", body.Name);
        Assert.Equal(text, body.Value);
        Assert.Empty(body.Elements());
    }

    [Fact]
    public void Code_escapes_the_language_parameter()
    {
        var html = ConfluenceStorageFormat.Code("x", "c\"><b>");

        Assert.Contains("<ac:parameter ac:name=\"language\">c&quot;&gt;&lt;b&gt;</ac:parameter>", html, StringComparison.Ordinal);
        Assert.Equal("c\"><b>", Parse(html).Root!.Descendants(Ac + "parameter").Single().Value);
    }

    /// <summary>Parses a storage-format fragment as XML (with the <c>ac:</c> namespace declared, as Confluence does).</summary>
    private static XDocument Parse(string fragment) =>
        XDocument.Parse($"<root xmlns:ac=\"{Ac.NamespaceName}\">{fragment}</root>");
}
