using System.Text;
using System.Text.RegularExpressions;

namespace DevOrchestrator.Plugins.Confluence;

/// <summary>
/// Builds pieces of a page body in Confluence's storage format (XHTML with <c>ac:</c> macros) from untrusted text, so
/// that text never becomes markup: everything is escaped, and characters XML does not allow are dropped.
/// </summary>
public static partial class ConfluenceStorageFormat
{
    /// <summary>XML-escapes <paramref name="text"/> for element content or a quoted attribute (<c>&amp; &lt; &gt; " '</c>).</summary>
    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        var builder = new StringBuilder(text.Length + 16);
        foreach (var rune in XmlRunes(text))
        {
            switch (rune.Value)
            {
                case '&': builder.Append("&amp;"); break;
                case '<': builder.Append("&lt;"); break;
                case '>': builder.Append("&gt;"); break;
                case '"': builder.Append("&quot;"); break;
                case '\'': builder.Append("&#39;"); break;
                default: builder.Append(rune.ToString()); break;
            }
        }

        return builder.ToString();
    }

    /// <summary>
    /// Plain text as paragraphs: a blank line starts a new <c>&lt;p&gt;</c>, a single line break becomes
    /// <c>&lt;br /&gt;</c>. Empty text gives an empty string.
    /// </summary>
    public static string Paragraphs(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return "";
        }

        var normalized = text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        var builder = new StringBuilder();
        foreach (var paragraph in BlankLines().Split(normalized))
        {
            var trimmed = paragraph.Trim('\n');
            if (trimmed.Trim().Length == 0)
            {
                continue;
            }

            builder.Append("<p>").Append(string.Join("<br />", trimmed.Split('\n').Select(Escape))).Append("</p>");
        }

        return builder.ToString();
    }

    /// <summary>
    /// A link. Only absolute <c>http</c>, <c>https</c> and <c>mailto</c> addresses become links; anything else (a
    /// <c>javascript:</c> URL, a relative path) is rendered as the escaped text alone. The text defaults to the URL.
    /// </summary>
    public static string Link(string url, string? text)
    {
        ArgumentNullException.ThrowIfNull(url);
        var label = Escape(string.IsNullOrEmpty(text) ? url : text);
        return Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeMailto)
            ? $"<a href=\"{Escape(uri.AbsoluteUri)}\">{label}</a>"
            : label;
    }

    /// <summary>A two-column table of name/value rows (names as row headers), or an empty string for no rows.</summary>
    public static string Table(IEnumerable<(string Name, string Value)> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var builder = new StringBuilder();
        foreach (var (name, value) in rows)
        {
            builder.Append("<tr><th>").Append(Escape(name)).Append("</th><td>").Append(Escape(value)).Append("</td></tr>");
        }

        return builder.Length == 0 ? "" : $"<table><tbody>{builder}</tbody></table>";
    }

    /// <summary>
    /// The code macro (<c>ac:structured-macro ac:name="code"</c>) with <paramref name="text"/> verbatim in a CDATA body;
    /// a <c>]]&gt;</c> inside the text is split across two CDATA sections so it cannot end the body early.
    /// </summary>
    public static string Code(string? text, string? language)
    {
        var builder = new StringBuilder("<ac:structured-macro ac:name=\"code\" ac:schema-version=\"1\">");
        if (!string.IsNullOrWhiteSpace(language))
        {
            builder.Append("<ac:parameter ac:name=\"language\">").Append(Escape(language.Trim())).Append("</ac:parameter>");
        }

        var body = new StringBuilder();
        foreach (var rune in XmlRunes(text ?? ""))
        {
            body.Append(rune.ToString());
        }

        builder.Append("<ac:plain-text-body><![CDATA[")
            .Append(body.Replace("]]>", "]]]]><![CDATA[>"))
            .Append("]]></ac:plain-text-body></ac:structured-macro>");
        return builder.ToString();
    }

    /// <summary>The characters of <paramref name="text"/> that XML 1.0 allows (control characters and lone surrogates dropped).</summary>
    private static IEnumerable<Rune> XmlRunes(string text)
    {
        var index = 0;
        while (index < text.Length)
        {
            if (Rune.DecodeFromUtf16(text.AsSpan(index), out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                index += Math.Max(consumed, 1);
                continue;
            }

            index += consumed;
            var value = rune.Value;
            if (value is 0x9 or 0xA or 0xD || (value >= 0x20 && value <= 0xD7FF) || (value >= 0xE000 && value <= 0xFFFD) || value >= 0x10000)
            {
                yield return rune;
            }
        }
    }

    [GeneratedRegex(@"\n[ \t]*\n\s*")]
    private static partial Regex BlankLines();
}
