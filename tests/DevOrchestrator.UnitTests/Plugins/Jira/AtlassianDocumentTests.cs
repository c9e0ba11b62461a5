using System.Text.Json.Nodes;
using DevOrchestrator.Plugins.Jira;

namespace DevOrchestrator.UnitTests.Plugins.Jira;

public sealed class AtlassianDocumentTests
{
    [Fact]
    public void A_rich_document_reads_as_structured_plain_text()
    {
        var adf = JsonNode.Parse("""
            {"type":"doc","version":1,"content":[
              {"type":"heading","attrs":{"level":2},"content":[{"type":"text","text":"Goal"}]},
              {"type":"paragraph","content":[
                {"type":"text","text":"Ask "},{"type":"mention","attrs":{"id":"5b10","text":"@Ana"}},
                {"type":"text","text":" "},{"type":"emoji","attrs":{"shortName":":smile:","text":"😄"}},
                {"type":"hardBreak"},
                {"type":"text","text":"see docs","marks":[{"type":"link","attrs":{"href":"https://example.test/docs"}}]},
                {"type":"text","text":" and "},{"type":"inlineCard","attrs":{"url":"https://example.test/PROJ-2"}}]},
              {"type":"orderedList","attrs":{"order":1},"content":[
                {"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"first"}]},
                  {"type":"bulletList","content":[{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"nested"}]}]}]}]},
                {"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"second"}]}]}]},
              {"type":"codeBlock","attrs":{"language":"bash"},"content":[{"type":"text","text":"make test\nmake lint"}]},
              {"type":"blockquote","content":[{"type":"paragraph","content":[{"type":"text","text":"quoted"}]}]},
              {"type":"rule"},
              {"type":"table","content":[
                {"type":"tableRow","content":[{"type":"tableHeader","content":[{"type":"paragraph","content":[{"type":"text","text":"Name"}]}]},
                                              {"type":"tableHeader","content":[{"type":"paragraph","content":[{"type":"text","text":"Value"}]}]}]},
                {"type":"tableRow","content":[{"type":"tableCell","content":[{"type":"paragraph","content":[{"type":"text","text":"a"}]}]},
                                              {"type":"tableCell","content":[{"type":"paragraph","content":[{"type":"text","text":"1"}]}]}]}]}]}
            """);

        var text = AtlassianDocument.ToText(adf);

        Assert.Equal(
            """
            ## Goal

            Ask @Ana 😄
            see docs (https://example.test/docs) and https://example.test/PROJ-2

            1. first
              - nested
            2. second

            ```bash
            make test
            make lint
            ```

            > quoted

            ---

            | Name | Value |
            | a | 1 |
            """.ReplaceLineEndings("\n"),
            text);
    }

    [Fact]
    public void Plain_strings_pass_through_and_null_is_empty()
    {
        Assert.Equal("already plain\ntext", AtlassianDocument.ToText(JsonValue.Create("already plain\ntext")));
        Assert.Equal("", AtlassianDocument.ToText(null));
        Assert.Equal("", AtlassianDocument.ToText(JsonNode.Parse("""{"type":"doc","version":1,"content":[]}""")));
    }

    [Fact]
    public void Unknown_nodes_keep_their_text()
    {
        var adf = JsonNode.Parse("""
            {"type":"doc","version":1,"content":[
              {"type":"panel","attrs":{"panelType":"info"},"content":[{"type":"paragraph","content":[{"type":"text","text":"inside a panel"}]}]},
              {"type":"someFutureBlock","content":[{"type":"paragraph","content":[{"type":"text","text":"future"},{"type":"status","attrs":{"text":"BLOCKED"}}]}]}]}
            """);

        Assert.Equal("inside a panel\n\nfuture[BLOCKED]", AtlassianDocument.ToText(adf));
    }

    [Fact]
    public void From_text_makes_paragraphs_with_hard_breaks_and_code_blocks()
    {
        var doc = AtlassianDocument.FromText("Line one\r\nline two\n\n\nSecond paragraph\n```python\nprint(1)\n\nprint(2)\n```\nafter");

        Assert.Equal("doc", (string?)doc["type"]);
        Assert.Equal(1, (int)doc["version"]!);
        var blocks = doc["content"]!.AsArray();
        Assert.Equal(["paragraph", "paragraph", "codeBlock", "paragraph"], blocks.Select(b => (string?)b!["type"]));
        Assert.Equal(
            """[{"type":"text","text":"Line one"},{"type":"hardBreak"},{"type":"text","text":"line two"}]""",
            blocks[0]!["content"]!.ToJsonString());
        Assert.Equal("""{"type":"codeBlock","attrs":{"language":"python"},"content":[{"type":"text","text":"print(1)\n\nprint(2)"}]}""", blocks[2]!.ToJsonString());
        Assert.Equal("after", (string?)blocks[3]!["content"]![0]!["text"]);
    }

    [Fact]
    public void From_text_never_makes_empty_text_nodes()
    {
        var doc = AtlassianDocument.FromText("```\n```\n\n   \n");

        var code = Assert.Single(doc["content"]!.AsArray());
        Assert.Equal("""{"type":"codeBlock","content":[]}""", code!.ToJsonString());
        Assert.Empty(AtlassianDocument.FromText("")["content"]!.AsArray());
    }

    [Theory]
    [InlineData("One paragraph.")]
    [InlineData("First paragraph.\n\nSecond, with\na hard break.")]
    [InlineData("Before\n\n```csharp\nvar x = 1;\n\nreturn x;\n```\n\nAfter the code.")]
    [InlineData("```\nonly code\n```")]
    [InlineData("Unicode: ünïcödé ✓ and \"quotes\" and <tags> & ampersands")]
    public void Text_made_into_a_document_reads_back_unchanged(string text)
    {
        var doc = AtlassianDocument.FromText(text);

        Assert.Equal(text, AtlassianDocument.ToText(doc));
        // And survives serialisation, as it does on the wire.
        Assert.Equal(text, AtlassianDocument.ToText(JsonNode.Parse(doc.ToJsonString())));
    }

    [Fact]
    public void An_unclosed_fence_runs_to_the_end_like_Markdown()
    {
        var doc = AtlassianDocument.FromText("intro\n```js\nlet a;\nlet b;");

        Assert.Equal("```js\nlet a;\nlet b;\n```", AtlassianDocument.ToText(doc["content"]![1]));
    }
}
