using System.Text;

namespace DevOrchestrator.Plugins.Jira;

/// <summary>Writing values into JQL safely.</summary>
public static class JiraJql
{
    // Reserved by the text-search (~) operator's Lucene syntax; they are dropped from the terms, not escaped.
    private const string TextSearchReserved = "+-&|!(){}[]^~*?\\:\"/'";

    /// <summary>A JQL string literal: <paramref name="value"/> in double quotes with <c>\</c> and <c>"</c> escaped and line breaks made spaces.</summary>
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var builder = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            _ = c switch
            {
                '\\' => builder.Append(@"\\"),
                '"' => builder.Append("\\\""),
                '\r' or '\n' or '\t' => builder.Append(' '),
                _ => builder.Append(c),
            };
        }

        return builder.Append('"').ToString();
    }

    /// <summary>
    /// The words of <paramref name="text"/> for a <c>summary ~</c> text search: the text-search operators and
    /// punctuation Lucene reserves become spaces (a search only narrows the candidates; they are checked exactly).
    /// Empty when no word is left.
    /// </summary>
    public static string TextSearchTerms(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            builder.Append(TextSearchReserved.Contains(c, StringComparison.Ordinal) || char.IsControl(c) ? ' ' : c);
        }

        return string.Join(' ', builder.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }
}
