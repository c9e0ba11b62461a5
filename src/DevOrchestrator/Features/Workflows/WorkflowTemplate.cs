using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using DevOrchestrator.Hosting;

namespace DevOrchestrator.Features.Workflows;

/// <summary>
/// The <c>${…}</c> references of workflow values: <c>${variables.X}</c>, <c>${task.F}</c>, <c>${project.F}</c> and
/// <c>${steps.S.O}</c>. A string that is exactly one reference keeps the value's type; otherwise references are
/// interpolated as text. Nothing is evaluated: a reference only looks a value up.
/// </summary>
public static partial class WorkflowTemplate
{
    public static readonly IReadOnlyList<string> TaskFields = ["id", "title", "description", "source", "external_id", "branch"];
    public static readonly IReadOnlyList<string> ProjectFields = ["id", "name", "repository_url", "default_branch", "test_command"];

    /// <summary>A literal piece of text or a reference.</summary>
    public readonly record struct Part(string? Text, WorkflowReference? Reference);

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z0-9_\-]+)*$")]
    private static partial Regex ReferencePath();

    /// <summary>Splits a string into text and references; throws <see cref="FormatException"/> for a malformed <c>${…}</c>.</summary>
    public static IReadOnlyList<Part> Parse(string text)
    {
        var parts = new List<Part>();
        var position = 0;
        while (position < text.Length)
        {
            var start = text.IndexOf("${", position, StringComparison.Ordinal);
            if (start < 0)
            {
                parts.Add(new Part(text[position..], null));
                break;
            }

            if (start > position)
            {
                parts.Add(new Part(text[position..start], null));
            }

            var end = text.IndexOf('}', start + 2);
            if (end < 0)
            {
                throw new FormatException($"unclosed reference '{text[start..]}' (expected '}}')");
            }

            parts.Add(new Part(null, ParseReference(text[(start + 2)..end])));
            position = end + 1;
        }

        return parts;
    }

    /// <summary>Parses the inside of <c>${…}</c>.</summary>
    public static WorkflowReference ParseReference(string inner)
    {
        var path = inner.Trim();
        if (!ReferencePath().IsMatch(path))
        {
            throw new FormatException($"malformed reference '${{{inner}}}' (expected ${{root.name}})");
        }

        var segments = path.Split('.');
        return new WorkflowReference(segments[0], segments[1..]);
    }

    /// <summary>The references in a value (strings, and strings nested in maps and lists).</summary>
    public static IEnumerable<WorkflowReference> ReferencesIn(object? value) => value switch
    {
        string s => Parse(s).Where(p => p.Reference is not null).Select(p => p.Reference!),
        IReadOnlyDictionary<string, object?> map => map.Values.SelectMany(ReferencesIn),
        IEnumerable<object?> list => list.SelectMany(ReferencesIn),
        _ => [],
    };

    /// <summary>
    /// The static check of a reference: known root and field, and for <c>${steps.S…}</c> a step that runs before the one
    /// at <paramref name="stepIndex"/> (<paramref name="stepNames"/> in order). Returns an error message or null.
    /// </summary>
    public static string? Check(WorkflowReference reference, IReadOnlyList<string> stepNames, int stepIndex)
    {
        switch (reference.Root)
        {
            case "variables":
                return reference.Path.Count == 0 ? $"reference {reference} names no variable" : null;
            case "task":
                return reference.Path.Count != 1 || !TaskFields.Contains(reference.Path[0])
                    ? $"unknown reference {reference} (task has {string.Join(", ", TaskFields)})"
                    : null;
            case "project":
                return reference.Path.Count != 1 || !ProjectFields.Contains(reference.Path[0])
                    ? $"unknown reference {reference} (project has {string.Join(", ", ProjectFields)})"
                    : null;
            case "steps":
                if (reference.Path.Count == 0)
                {
                    return $"reference {reference} names no step";
                }

                var index = stepNames.ToList().IndexOf(reference.Path[0]);
                if (index < 0)
                {
                    return $"reference {reference} names an unknown step '{reference.Path[0]}'";
                }

                return index >= stepIndex ? $"reference {reference} uses step '{reference.Path[0]}' before it runs" : null;
            default:
                return $"unknown reference root in {reference} (use variables, task, project or steps)";
        }
    }

    /// <summary>Resolves every string in a value (recursively through maps and lists).</summary>
    public static object? Resolve(object? value, WorkflowScope scope) => value switch
    {
        string s => ResolveString(s, scope),
        IReadOnlyDictionary<string, object?> map => map.ToDictionary(kv => kv.Key, kv => Resolve(kv.Value, scope)),
        IEnumerable<object?> list => list.Select(v => Resolve(v, scope)).ToList(),
        _ => value,
    };

    public static object? ResolveString(string text, WorkflowScope scope)
    {
        var parts = Parse(text);
        if (parts.Count == 1 && parts[0].Reference is { } only)
        {
            return scope.Lookup(only);
        }

        var builder = new StringBuilder();
        foreach (var part in parts)
        {
            builder.Append(part.Reference is { } reference ? ToText(scope.Lookup(reference)) : part.Text);
        }

        return builder.ToString();
    }

    /// <summary>How a value reads when interpolated into text.</summary>
    public static string ToText(object? value) => value switch
    {
        null => string.Empty,
        string s => s,
        bool b => b ? "true" : "false",
        JsonElement { ValueKind: JsonValueKind.String } e => e.GetString() ?? string.Empty,
        IFormattable f when value is not IReadOnlyDictionary<string, object?> => f.ToString(null, CultureInfo.InvariantCulture),
        _ => JsonSerializer.Serialize(value, JsonDefaults.Options),
    };
}
