using System.Text.RegularExpressions;

namespace DevOrchestrator.Hosting;

/// <summary>
/// Settings that start but deserve a word at start (logged as warnings by <c>serve</c>, printed by
/// <c>devorch config show</c>): a key repeated in <c>.env</c> (the last value wins, as in a shell; the guide's own example
/// repeats <c>SLACK_BOT_TOKEN</c>), and a setting given under both of its names with different values (the canonical
/// name wins). Values are never repeated here: they may be secrets.
/// </summary>
public static partial class SettingsWarnings
{
    /// <summary>The guide's aliases: (the name that wins, its alias).</summary>
    public static readonly IReadOnlyList<(string Name, string Alias)> Aliases =
    [
        ("MONTHLY_BUDGET_LIMIT", "MONTHLY_BUDGET"),
        ("PER_TASK_COST_LIMIT", "MAX_COST_PER_TASK"),
    ];

    public static IReadOnlyList<string> Of(IConfiguration configuration) =>
        [.. RepeatedKeys(DevOrchestratorApp.EnvFilePath()), .. AliasConflicts(configuration)];

    /// <summary>One warning per key that the file sets more than once, naming its lines.</summary>
    public static IReadOnlyList<string> RepeatedKeys(string envFile)
    {
        if (!File.Exists(envFile))
        {
            return [];
        }

        var lines = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var number = 0;
        foreach (var line in File.ReadLines(envFile))
        {
            number++;
            if (AssignmentPattern().Match(line) is { Success: true } match)
            {
                var key = match.Groups["key"].Value;
                if (!lines.TryGetValue(key, out var seen))
                {
                    lines[key] = seen = [];
                }

                seen.Add(number);
            }
        }

        return [.. lines.Where(l => l.Value.Count > 1).Select(l =>
            $"{envFile} sets {l.Key} {l.Value.Count} times (lines {string.Join(", ", l.Value)}); the last one (line {l.Value[^1]}) is used.")];
    }

    /// <summary>One warning per setting given under both names with different values.</summary>
    public static IReadOnlyList<string> AliasConflicts(IConfiguration configuration) =>
    [
        .. Aliases.Where(a => configuration[a.Name] is { Length: > 0 } name && configuration[a.Alias] is { Length: > 0 } alias && name.Trim() != alias.Trim())
            .Select(a => $"{a.Name} and its alias {a.Alias} are both set, to different values; {a.Name} is used. Remove one of them."),
    ];

    [GeneratedRegex(@"^\s*(?:export\s+)?(?<key>[A-Za-z_][A-Za-z0-9_.]*)\s*=")]
    private static partial Regex AssignmentPattern();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Settings: {Warning}")]
    public static partial void Log(ILogger logger, string warning);
}
