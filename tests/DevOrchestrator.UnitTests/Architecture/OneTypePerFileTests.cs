using System.Text.RegularExpressions;

namespace DevOrchestrator.UnitTests.Architecture;

/// <summary>
/// Each source file under src/ declares at most one public top-level type, and is named after it (a file without a
/// public type, or with internal helpers next to the public one, is fine). Read from the sources: the compiled
/// assembly does not know file names.
/// </summary>
public sealed partial class OneTypePerFileTests
{
    /// <summary>Files their owners are changing in flight (issue 13: the API envelope and paging, the settings).</summary>
    private static readonly string[] s_pending =
    [
    ];

    [Fact]
    public void Every_source_file_holds_one_public_type_named_like_the_file()
    {
        var root = RepositoryRoot.Path;
        var wrong = new List<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (relative.Contains("/obj/", StringComparison.Ordinal) || relative.Contains("/bin/", StringComparison.Ordinal) ||
                relative.Contains("/Migrations/", StringComparison.Ordinal) || s_pending.Contains(relative))
            {
                continue;
            }

            if (Problem(Path.GetFileNameWithoutExtension(file), File.ReadAllText(file)) is { } problem)
            {
                wrong.Add($"{relative}: {problem}");
            }
        }

        Assert.True(wrong.Count == 0, string.Join(Environment.NewLine, wrong));
    }

    [Fact]
    public void Two_public_types_or_a_misnamed_file_are_reported()
    {
        Assert.Null(Problem("Thing", "namespace A;\n\npublic sealed class Thing\n{\n}\n\ninternal sealed class Helper;\n"));
        Assert.Equal("2 public types: Thing, Other", Problem("Thing", "namespace A;\n\npublic sealed class Thing;\n\npublic record Other(int X);\n"));
        Assert.Equal("holds Other, not Thing", Problem("Thing", "namespace A;\n\n/// <summary>x</summary>\npublic static partial class Other\n{\n}\n"));
    }

    internal static string? Problem(string fileName, string source)
    {
        var types = PublicTopLevelType().Matches(source).Select(m => m.Groups["name"].Value).ToList();
        return types.Count switch
        {
            0 => null,
            1 when types[0] == fileName => null,
            1 => $"holds {types[0]}, not {fileName}",
            _ => $"{types.Count} public types: {string.Join(", ", types)}",
        };
    }

    // File-scoped namespaces: a top-level type starts at the first column.
    [GeneratedRegex(@"^public\s+(?:(?:static|sealed|abstract|partial|readonly|ref|unsafe)\s+)*(?:record\s+struct|record\s+class|class|record|struct|interface|enum|delegate\s+\S+)\s+(?<name>\w+)", RegexOptions.Multiline)]
    private static partial Regex PublicTopLevelType();
}
