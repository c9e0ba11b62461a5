namespace DevOrchestrator.Abstractions;

/// <summary>
/// Reads typed input values the same way at load time (literals in the YAML, which YAML already typed) and at run
/// time (values that came through a <c>${…}</c> reference, which may be text such as <c>"true"</c> or <c>"30"</c>).
/// </summary>
public static class WorkflowInputValues
{
    /// <summary>Why <paramref name="value"/> is not a valid <paramref name="type"/>, or null when it is.</summary>
    public static string? Problem(string input, WorkflowInputType type, object? value) => type switch
    {
        WorkflowInputType.Boolean => TryBoolean(value, out _) ? null : $"input '{input}' must be true or false (got {Describe(value)})",
        WorkflowInputType.WholeNumber => TryNumber(value, out var n) && n >= 0 ? null : $"input '{input}' must be a whole number, 0 or more (got {Describe(value)})",
        _ => TryNumber(value, out var p) && p >= 1 ? null : $"input '{input}' must be a whole number, 1 or more (got {Describe(value)})",
    };

    public static bool TryBoolean(object? value, out bool result)
    {
        switch (value)
        {
            case bool b:
                result = b;
                return true;
            case string text when bool.TryParse(text.Trim(), out var parsed):
                result = parsed;
                return true;
            default:
                result = false;
                return false;
        }
    }

    public static bool TryNumber(object? value, out long result)
    {
        switch (value)
        {
            case long l:
                result = l;
                return true;
            case int i:
                result = i;
                return true;
            case string text when long.TryParse(text.Trim(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var parsed):
                result = parsed;
                return true;
            default:
                result = 0;
                return false;
        }
    }

    /// <summary>A value as text: booleans as <c>true</c>/<c>false</c> (as written in YAML), numbers in the invariant culture.</summary>
    public static string? Text(object? value) => value switch
    {
        null => null,
        string s => s,
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    private static string Describe(object? value) => value switch
    {
        null => "nothing",
        string s => $"'{s}'",
        System.Collections.IDictionary => "a mapping",
        System.Collections.IEnumerable => "a list",
        _ => Text(value)!,
    };
}
