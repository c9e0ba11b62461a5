using System.Text;
using System.Text.RegularExpressions;

namespace DevOrchestrator.UnitTests.Architecture;

/// <summary>
/// Every relative link in README.md and docs/**/*.md leads to a file or folder of the repository, and a link to a
/// heading (<c>file.md#heading</c>, <c>#heading</c>) to a heading of that page (GitHub's anchors). Links inside code are
/// not links; web addresses are not checked (no network in tests).
/// </summary>
public sealed partial class DocumentationLinkTests
{
    [Fact]
    public void Every_relative_link_in_the_readme_and_docs_resolves()
    {
        var root = RepositoryRoot.Path;
        var pages = Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md", SearchOption.AllDirectories).Prepend(Path.Combine(root, "README.md"));
        var broken = pages.SelectMany(page => BrokenLinks(root, page)).ToList();
        Assert.True(broken.Count == 0, "Broken links:" + Environment.NewLine + string.Join(Environment.NewLine, broken));
    }

    [Fact]
    public void A_missing_file_and_a_missing_heading_are_reported()
    {
        var root = Directory.CreateTempSubdirectory("devorch-links-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(root, "a.md"), "# Title\n\n## The map: folders\n\n[ok](#the-map-folders) [ok](b.md) [gone](c.md) [no heading](b.md#nowhere) `[code](d.md)`\n\n```\n[fenced](e.md)\n```\n[web](https://example.com/x.md)\n");
            File.WriteAllText(Path.Combine(root, "b.md"), "# B\n");
            var broken = BrokenLinks(root, Path.Combine(root, "a.md")).ToList();
            Assert.Equal(["a.md: c.md (no such file)", "a.md: b.md#nowhere (no such heading)"], broken);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    internal static IEnumerable<string> BrokenLinks(string root, string page)
    {
        var text = WithoutCode(File.ReadAllText(page));
        var name = Path.GetRelativePath(root, page).Replace('\\', '/');
        foreach (Match link in LinkPattern().Matches(text))
        {
            var target = link.Groups["target"].Value.Trim();
            if (target.Length == 0 || target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
            {
                continue;
            }

            var hash = target.IndexOf('#', StringComparison.Ordinal);
            var path = Uri.UnescapeDataString(hash < 0 ? target : target[..hash]);
            var anchor = hash < 0 ? null : target[(hash + 1)..];
            var resolved = path.Length == 0 ? page : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(page)!, path));
            if (!File.Exists(resolved) && !Directory.Exists(resolved))
            {
                yield return $"{name}: {target} (no such file)";
            }
            else if (anchor is { Length: > 0 } && resolved.EndsWith(".md", StringComparison.OrdinalIgnoreCase) && !Anchors(File.ReadAllText(resolved)).Contains(anchor))
            {
                yield return $"{name}: {target} (no such heading)";
            }
        }
    }

    /// <summary>GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens, repeats numbered.</summary>
    internal static HashSet<string> Anchors(string markdown)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match heading in HeadingPattern().Matches(WithoutCode(markdown)))
        {
            var slug = new StringBuilder();
            foreach (var c in heading.Groups["text"].Value.Trim().ToLowerInvariant())
            {
                if (char.IsLetterOrDigit(c) || c is '-' or '_')
                {
                    slug.Append(c);
                }
                else if (c == ' ')
                {
                    slug.Append('-');
                }
            }

            var anchor = slug.ToString();
            for (var n = 1; !anchors.Add(anchor); n++)
            {
                anchor = $"{slug}-{n}";
            }
        }

        return anchors;
    }

    private static string WithoutCode(string markdown) =>
        InlineCodePattern().Replace(FencePattern().Replace(markdown, ""), "");

    [GeneratedRegex(@"\[[^\]]*\]\((?<target>[^)\s]+)(?:\s+""[^""]*"")?\)|^\[[^\]]+\]:\s*(?<target>\S+)", RegexOptions.Multiline)]
    private static partial Regex LinkPattern();

    [GeneratedRegex(@"^#{1,6}\s+(?<text>.+?)\s*#*\s*$", RegexOptions.Multiline)]
    private static partial Regex HeadingPattern();

    [GeneratedRegex(@"^(```|~~~).*?^\1", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex FencePattern();

    [GeneratedRegex(@"`[^`\n]*`")]
    private static partial Regex InlineCodePattern();
}
