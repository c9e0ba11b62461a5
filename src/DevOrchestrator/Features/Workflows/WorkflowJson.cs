using System.Text.Json;
using DevOrchestrator.Hosting;

namespace DevOrchestrator.Features.Workflows;

/// <summary>Workflow values to and from the JSON columns (variables, step inputs and outputs), with stored strings bounded.</summary>
public static class WorkflowJson
{
    /// <summary>The longest string kept in a stored input, output or event (~64 KB); longer ones keep their head and tail.</summary>
    public const int MaxStoredString = 64 * 1024;

    public static Dictionary<string, object?> ReadObject(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return new Dictionary<string, object?>(StringComparer.Ordinal);
        }

        using var document = JsonDocument.Parse(json);
        return FromElement(document.RootElement) as Dictionary<string, object?> ?? new Dictionary<string, object?>(StringComparer.Ordinal);
    }

    public static object? FromElement(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().Aggregate(new Dictionary<string, object?>(StringComparer.Ordinal), (map, p) =>
        {
            map[p.Name] = FromElement(p.Value);
            return map;
        }),
        JsonValueKind.Array => element.EnumerateArray().Select(FromElement).ToList(),
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.TryGetInt64(out var l) ? l : element.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    public static string Write(object? value, int maxString = MaxStoredString) => JsonSerializer.Serialize(Bound(value, maxString), JsonDefaults.Options);

    /// <summary>A copy with every string longer than <paramref name="maxString"/> cut to its head and tail.</summary>
    public static object? Bound(object? value, int maxString = MaxStoredString) => value switch
    {
        string s when s.Length > maxString => s[..(maxString / 2)] + $"\n… [{s.Length - maxString} characters omitted] …\n" + s[^(maxString / 2)..],
        string s => s,
        IReadOnlyDictionary<string, object?> map => map.ToDictionary(kv => kv.Key, kv => Bound(kv.Value, maxString), StringComparer.Ordinal),
        IEnumerable<object?> list => list.Select(v => Bound(v, maxString)).ToList(),
        _ => value,
    };
}
