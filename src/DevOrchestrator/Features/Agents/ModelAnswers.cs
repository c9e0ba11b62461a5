using System.Text.Json;
using System.Text.Json.Nodes;

namespace DevOrchestrator.Features.Agents;

/// <summary>
/// Reads the JSON a model was asked to answer with, tolerating prose or code fences around it, trailing commas,
/// comments and any letter case of property names.
/// </summary>
internal static class ModelAnswers
{
    private static readonly JsonNodeOptions s_nodeOptions = new() { PropertyNameCaseInsensitive = true };
    private static readonly JsonDocumentOptions s_documentOptions = new() { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip };

    /// <summary>
    /// The first of these that parses as an object or array: the whole answer; the object holding
    /// <paramref name="anchor"/> (a property name; prose before it may contain braces of its own); the span from the
    /// first <c>{</c> to the last <c>}</c>; from the first <c>[</c> to the last <c>]</c>.
    /// </summary>
    public static JsonNode? ReadJson(string text, string? anchor = null)
    {
        foreach (var candidate in Candidates(text.Trim(), anchor))
        {
            try
            {
                var node = JsonNode.Parse(candidate, s_nodeOptions, s_documentOptions);
                if (node is JsonObject or JsonArray)
                {
                    ReadAll(node);
                    return node;
                }
            }
            catch (Exception ex) when (ex is JsonException or ArgumentException or InvalidOperationException)
            {
                // Not this span (or one a reader would throw on later: a duplicate property name, which JsonObject
                // finds only when first enumerated; a lone surrogate escape, found when the string is read); try the next.
            }
        }

        return null;
    }

    /// <summary>Touches every object and string of <paramref name="node"/>, so that what would throw on use throws here.</summary>
    private static void ReadAll(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, value) in o)
                {
                    ReadAll(value);
                }

                break;
            case JsonArray a:
                foreach (var value in a)
                {
                    ReadAll(value);
                }

                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                _ = v.GetValue<string>();
                break;
        }
    }

    private static IEnumerable<string> Candidates(string text, string? anchor)
    {
        yield return text;
        var end = text.LastIndexOf('}');
        var anchorAt = anchor is null ? -1 : text.IndexOf($"\"{anchor}\"", StringComparison.OrdinalIgnoreCase);
        if (anchorAt > 0 && text.LastIndexOf('{', anchorAt) is >= 0 and var around && end > around)
        {
            yield return text[around..(end + 1)];
        }

        var start = text.IndexOf('{', StringComparison.Ordinal);
        if (start >= 0 && end > start)
        {
            yield return text[start..(end + 1)];
        }

        start = text.IndexOf('[', StringComparison.Ordinal);
        end = text.LastIndexOf(']');
        if (start >= 0 && end > start)
        {
            yield return text[start..(end + 1)];
        }
    }
}
