using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DevOrchestrator.Plugins.Jira;

/// <summary>
/// Atlassian Document Format (the JSON rich text of Jira Cloud's descriptions and comments) to plain text and back.
/// <see cref="ToText"/> keeps the structure readable (Markdown-like: <c>#</c> headings, <c>-</c> and <c>1.</c> list
/// items, <c>&gt;</c> quotes, fenced code blocks, <c>|</c> tables); <see cref="FromText"/> makes paragraphs with hard
/// breaks and code blocks from fenced parts, so text made by <see cref="FromText"/> reads back unchanged.
/// </summary>
public static class AtlassianDocument
{
    private const string Fence = "```";

    /// <summary>The plain text of an ADF node (usually a <c>doc</c>); a JSON string passes through; null is empty.</summary>
    public static string ToText(JsonNode? adf)
    {
        switch (adf)
        {
            case null:
                return "";
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                return value.GetValue<string>();
            case JsonValue:
                return "";
            case JsonArray array:
                return Blocks(array, 0).Trim('\n');
        }

        var node = adf.AsObject();
        if (TypeOf(node) is "doc" or null)
        {
            return Blocks(node["content"] as JsonArray, 0).Trim('\n');
        }

        return IsInline(TypeOf(node)) ? Inline(node) : Block(node, 0).Trim('\n');
    }

    /// <summary>
    /// An ADF <c>doc</c> of <paramref name="text"/>: blank-line separated paragraphs whose line breaks become
    /// <c>hardBreak</c>s, and a <c>codeBlock</c> (with its language) for each <c>```</c> fenced part.
    /// </summary>
    public static JsonObject FromText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var content = new JsonArray();
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n').Split('\n');
        var paragraph = new List<string>();
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.TrimStart().StartsWith(Fence, StringComparison.Ordinal))
            {
                FlushParagraph(content, paragraph);
                var language = line.TrimStart()[Fence.Length..].Trim();
                var code = new List<string>();
                var closed = false;
                for (i++; i < lines.Length; i++)
                {
                    if (lines[i].Trim() == Fence)
                    {
                        closed = true;
                        break;
                    }

                    code.Add(lines[i]);
                }

                _ = closed; // an unclosed fence runs to the end, as in Markdown
                content.Add(CodeBlock(string.Join('\n', code), language));
            }
            else if (line.Trim().Length == 0)
            {
                FlushParagraph(content, paragraph);
            }
            else
            {
                paragraph.Add(line);
            }
        }

        FlushParagraph(content, paragraph);
        return new JsonObject { ["type"] = "doc", ["version"] = 1, ["content"] = content };
    }

    private static void FlushParagraph(JsonArray content, List<string> lines)
    {
        if (lines.Count == 0)
        {
            return;
        }

        var inline = new JsonArray();
        for (var i = 0; i < lines.Count; i++)
        {
            if (i > 0)
            {
                inline.Add(new JsonObject { ["type"] = "hardBreak" });
            }

            if (lines[i].Length > 0)
            {
                inline.Add(new JsonObject { ["type"] = "text", ["text"] = lines[i] });
            }
        }

        content.Add(new JsonObject { ["type"] = "paragraph", ["content"] = inline });
        lines.Clear();
    }

    private static JsonObject CodeBlock(string code, string language)
    {
        var block = new JsonObject { ["type"] = "codeBlock" };
        if (language.Length > 0)
        {
            block["attrs"] = new JsonObject { ["language"] = language };
        }

        // ADF forbids empty text nodes: an empty code block has no content.
        block["content"] = code.Length > 0 ? new JsonArray(new JsonObject { ["type"] = "text", ["text"] = code }) : new JsonArray();
        return block;
    }

    private static string Blocks(JsonArray? blocks, int depth)
    {
        if (blocks is null)
        {
            return "";
        }

        var parts = new List<string>();
        var inlineRun = new StringBuilder();
        foreach (var child in blocks.OfType<JsonObject>())
        {
            if (IsInline(TypeOf(child)))
            {
                // Inline nodes directly in a block container (lenient): keep them together as one paragraph.
                inlineRun.Append(Inline(child));
                continue;
            }

            if (inlineRun.Length > 0)
            {
                parts.Add(inlineRun.ToString());
                inlineRun.Clear();
            }

            var text = Block(child, depth);
            if (text.Length > 0)
            {
                parts.Add(text);
            }
        }

        if (inlineRun.Length > 0)
        {
            parts.Add(inlineRun.ToString());
        }

        return string.Join("\n\n", parts);
    }

    private static string Block(JsonObject node, int depth)
    {
        var content = node["content"] as JsonArray;
        switch (TypeOf(node))
        {
            case "paragraph":
                return Inlines(content);
            case "heading":
                var level = Math.Clamp(IntAttr(node, "level") ?? 1, 1, 6);
                return new string('#', level) + " " + Inlines(content);
            case "bulletList":
                return ListItems(content, depth, ordered: false, start: 1);
            case "orderedList":
                return ListItems(content, depth, ordered: true, start: IntAttr(node, "order") ?? 1);
            case "taskList":
                return string.Join('\n', (content ?? []).OfType<JsonObject>().Select(item =>
                    Indent(depth) + (string.Equals(StringAttr(item, "state"), "DONE", StringComparison.OrdinalIgnoreCase) ? "- [x] " : "- [ ] ")
                    + (TypeOf(item) == "taskItem" ? Inlines(item["content"] as JsonArray) : Block(item, depth + 1))));
            case "decisionList":
                return string.Join('\n', (content ?? []).OfType<JsonObject>().Select(item => Indent(depth) + "- " + Inlines(item["content"] as JsonArray)));
            case "codeBlock":
                return Fence + (StringAttr(node, "language") ?? "") + "\n" + string.Concat((content ?? []).OfType<JsonObject>().Select(PlainInline)) + "\n" + Fence;
            case "blockquote":
                return string.Join('\n', Blocks(content, depth).Split('\n').Select(line => line.Length == 0 ? ">" : "> " + line));
            case "rule":
                return "---";
            case "table":
                return Table(content);
            case "panel":
            case "expand":
            case "nestedExpand":
            case "layoutSection":
            case "layoutColumn":
            case "bodiedExtension":
                var title = StringAttr(node, "title");
                var body = Blocks(content, depth);
                return string.IsNullOrEmpty(title) ? body : title + "\n" + body;
            case "mediaSingle":
            case "mediaGroup":
            case "media":
                return "[attachment]";
            case "blockCard":
            case "embedCard":
                return StringAttr(node, "url") ?? "";
            case "listItem":
                return Blocks(content, depth);
            default:
                return content is null ? "" : Blocks(content, depth);
        }
    }

    private static string ListItems(JsonArray? items, int depth, bool ordered, int start)
    {
        var lines = new List<string>();
        var number = start;
        foreach (var item in (items ?? []).OfType<JsonObject>())
        {
            var marker = ordered ? number++.ToString(CultureInfo.InvariantCulture) + ". " : "- ";
            var children = (item["content"] as JsonArray ?? []).OfType<JsonObject>().ToList();
            var first = true;
            var text = new StringBuilder();
            foreach (var child in children)
            {
                var type = TypeOf(child);
                if (type is "bulletList" or "orderedList" or "taskList")
                {
                    text.Append('\n').Append(Block(child, depth + 1));
                    continue;
                }

                var childText = Block(child, depth + 1).Replace("\n", "\n" + Indent(depth + 1), StringComparison.Ordinal);
                text.Append(first ? childText : "\n" + Indent(depth + 1) + childText);
                first = false;
            }

            lines.Add(Indent(depth) + marker + text);
        }

        return string.Join('\n', lines);
    }

    private static string Table(JsonArray? rows)
    {
        var lines = new List<string>();
        foreach (var row in (rows ?? []).OfType<JsonObject>())
        {
            var cells = (row["content"] as JsonArray ?? []).OfType<JsonObject>()
                .Select(cell => Blocks(cell["content"] as JsonArray, 0).Replace("\n\n", " ", StringComparison.Ordinal).Replace('\n', ' ').Replace("|", "\\|", StringComparison.Ordinal));
            lines.Add("| " + string.Join(" | ", cells) + " |");
        }

        return string.Join('\n', lines);
    }

    private static string Inlines(JsonArray? inlines) => string.Concat((inlines ?? []).OfType<JsonObject>().Select(Inline));

    private static string Inline(JsonObject node)
    {
        switch (TypeOf(node))
        {
            case "text":
                var text = (string?)node["text"] ?? "";
                var href = (node["marks"] as JsonArray ?? []).OfType<JsonObject>()
                    .Where(mark => TypeOf(mark) == "link").Select(mark => StringAttr(mark, "href")).FirstOrDefault(h => !string.IsNullOrEmpty(h));
                return href is null || href == text ? text : $"{text} ({href})";
            case "hardBreak":
                return "\n";
            case "mention":
                var mention = StringAttr(node, "text") ?? StringAttr(node, "id") ?? "";
                return mention.StartsWith('@') ? mention : "@" + mention;
            case "emoji":
                return StringAttr(node, "text") ?? StringAttr(node, "shortName") ?? "";
            case "inlineCard":
                return StringAttr(node, "url") ?? "";
            case "status":
                return "[" + (StringAttr(node, "text") ?? "") + "]";
            case "date":
                return StringAttr(node, "timestamp") is { } ms && long.TryParse(ms, NumberStyles.Integer, CultureInfo.InvariantCulture, out var millis)
                    ? DateTimeOffset.FromUnixTimeMilliseconds(millis).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)
                    : "";
            case "placeholder":
                return "";
            default:
                return PlainInline(node);
        }
    }

    private static string PlainInline(JsonObject node) =>
        TypeOf(node) == "text" ? (string?)node["text"] ?? "" : node["content"] is JsonArray children ? Inlines(children) : "";

    private static bool IsInline(string? type) => type is "text" or "hardBreak" or "mention" or "emoji" or "inlineCard" or "status" or "date" or "placeholder" or "inlineExtension" or "mediaInline";

    private static string? TypeOf(JsonObject node) => node["type"] is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    private static string? StringAttr(JsonObject node, string name) => node["attrs"]?[name] switch
    {
        JsonValue value when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
        JsonValue value when value.GetValueKind() == JsonValueKind.Number => value.ToJsonString(),
        _ => null,
    };

    private static int? IntAttr(JsonObject node, string name) =>
        node["attrs"]?[name] is JsonValue value && value.GetValueKind() == JsonValueKind.Number && value.TryGetValue<int>(out var number) ? number : null;

    private static string Indent(int depth) => new(' ', depth * 2);
}
