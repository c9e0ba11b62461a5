using System.Text;
using System.Text.RegularExpressions;

namespace DevOrchestrator.Features.Workspaces;

/// <summary>
/// Glob patterns over <c>/</c>-separated relative paths: <c>*</c> and <c>?</c> stay within one path segment,
/// <c>**</c> spans segments (<c>**/</c> also matches no segment at all), <c>[abc]</c> / <c>[!abc]</c> are character
/// classes and <c>{a,b}</c> alternatives.
/// </summary>
internal static class PathGlob
{
    public static Regex ToRegex(string pattern, bool ignoreCase)
    {
        var regex = new StringBuilder("^");
        var braces = 0;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            switch (c)
            {
                case '*' when i + 1 < pattern.Length && pattern[i + 1] == '*':
                    i++;
                    if (i + 1 < pattern.Length && pattern[i + 1] == '/')
                    {
                        i++;
                        regex.Append("(?:.*/)?");
                    }
                    else
                    {
                        regex.Append(".*");
                    }

                    break;
                case '*':
                    regex.Append("[^/]*");
                    break;
                case '?':
                    regex.Append("[^/]");
                    break;
                case '[' when i + 2 < pattern.Length && pattern.IndexOf(']', i + 2) is var close and > 0:
                    var set = pattern[(i + 1)..close];
                    regex.Append('[').Append(set[0] == '!' ? "^" + Escape(set[1..]) : Escape(set)).Append(']');
                    i = close;
                    break;
                case '{':
                    braces++;
                    regex.Append("(?:");
                    break;
                case ',' when braces > 0:
                    regex.Append('|');
                    break;
                case '}' when braces > 0:
                    braces--;
                    regex.Append(')');
                    break;
                default:
                    regex.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }

        regex.Append(')', braces).Append('$');
        var options = RegexOptions.CultureInvariant | (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None);
        return new Regex(regex.ToString(), options, TimeSpan.FromSeconds(1));

        static string Escape(string set) => set.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("[", @"\[", StringComparison.Ordinal);
    }
}

/// <summary>
/// Files agents never read or write and commits never include (DESIGN: protected patterns). A pattern without
/// <c>/</c> matches a file name in any directory (<c>*.key</c>); one with <c>/</c> matches the path from the
/// workspace root (<c>secrets/**</c>). Case does not matter.
/// </summary>
internal sealed class ProtectedFiles
{
    private readonly (string Pattern, Regex Regex, bool WholePath)[] _patterns;

    public ProtectedFiles(IReadOnlyList<string> patterns)
    {
        Patterns = patterns;
        _patterns = [.. patterns.Select(p => (p, PathGlob.ToRegex(p, ignoreCase: true), p.Contains('/', StringComparison.Ordinal)))];
    }

    public IReadOnlyList<string> Patterns { get; }

    /// <summary>The first pattern that <paramref name="relativePath"/> matches, or null.</summary>
    public string? MatchingPattern(string relativePath)
    {
        var path = relativePath.Replace('\\', '/').TrimStart('/');
        var name = path[(path.LastIndexOf('/') + 1)..];
        foreach (var (pattern, regex, wholePath) in _patterns)
        {
            if (regex.IsMatch(wholePath ? path : name))
            {
                return pattern;
            }
        }

        return null;
    }

    public bool IsProtected(string relativePath) => MatchingPattern(relativePath) is not null;

    /// <summary>Git pathspecs that leave every protected file out (append them after <c>--</c> and a positive pathspec).</summary>
    public IEnumerable<string> GitExcludePathspecs() =>
        Patterns.Select(p => ":(exclude,glob,icase)" + (p.Contains('/', StringComparison.Ordinal) ? p.TrimStart('/') : "**/" + p));
}
