using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace DevOrchestrator.Features.Agents;

/// <summary>A path the model named, resolved inside the workspace: <see cref="Relative"/> is <c>/</c>-separated from the root ("." for the root).</summary>
internal sealed record WorkspacePath(string Requested, string Relative, string Full)
{
    /// <summary>Whether the path is, or is inside, a <c>.git</c> entry (git's own data).</summary>
    public bool IsGitInternal => Relative.Split('/').Any(s => string.Equals(s, ".git", StringComparison.OrdinalIgnoreCase));
}

/// <summary>
/// Confines the paths the model names to the workspace. A path is resolved component by component the way the kernel
/// does (symbolic links followed, <c>..</c> taken from the real parent), so that neither <c>..</c>, an absolute path,
/// nor a link — to a file or to a directory, however nested — reaches anything outside the workspace root.
/// </summary>
internal sealed class WorkspacePaths
{
    private const int MaxLinks = 40;

    public WorkspacePaths(string worktree)
    {
        var links = 0;
        Root = Walk("/", Path.GetFullPath(worktree).Split('/'), ref links)
            ?? throw new ArgumentException($"cannot resolve the workspace '{worktree}'", nameof(worktree));
        if (!Directory.Exists(Root))
        {
            throw new ArgumentException($"the workspace '{worktree}' is not a directory", nameof(worktree));
        }
    }

    /// <summary>The workspace root with every symbolic link resolved.</summary>
    public string Root { get; }

    public bool TryResolve(string? requested, [NotNullWhen(true)] out WorkspacePath? path, [NotNullWhen(false)] out string? error)
    {
        path = null;
        requested = string.IsNullOrWhiteSpace(requested) ? "." : requested.Trim();
        if (requested.Contains('\0', StringComparison.Ordinal))
        {
            error = "error: the path contains a NUL character";
            return false;
        }

        if (Path.IsPathRooted(requested))
        {
            error = $"error: path '{requested}' is outside the workspace (absolute paths are refused; use a path relative to the workspace root)";
            return false;
        }

        var links = 0;
        var full = Walk(Root, requested.Split('/'), ref links);
        if (full is null)
        {
            error = $"error: path '{requested}' has too many levels of symbolic links";
            return false;
        }

        if (full != Root && !full.StartsWith(Root + "/", StringComparison.Ordinal))
        {
            error = links > 0
                ? $"error: path '{requested}' is outside the workspace (a symbolic link on the way points outside)"
                : $"error: path '{requested}' is outside the workspace";
            return false;
        }

        path = new WorkspacePath(requested, full == Root ? "." : full[(Root.Length + 1)..], full);
        error = null;
        return true;
    }

    /// <summary>
    /// Resolves <paramref name="components"/> from the real directory <paramref name="current"/>: links are followed
    /// (relative targets from the link's real directory), <c>..</c> goes to the real parent, components that do not
    /// exist are taken as they are. Null after too many links.
    /// </summary>
    private static string? Walk(string current, IEnumerable<string> components, ref int links)
    {
        foreach (var component in components)
        {
            if (component is "" or ".")
            {
                continue;
            }

            if (component == "..")
            {
                current = Path.GetDirectoryName(current) ?? "/";
                continue;
            }

            var next = current == "/" ? "/" + component : current + "/" + component;
            var target = LinkTarget(next);
            if (target is null)
            {
                current = next;
                continue;
            }

            if (++links > MaxLinks)
            {
                return null;
            }

            var resolved = Walk(target.StartsWith('/') ? "/" : current, target.Split('/'), ref links);
            if (resolved is null)
            {
                return null;
            }

            current = resolved;
        }

        return current;
    }

    private static string? LinkTarget(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>Keeps tool outputs within the model's budget: the head and the tail, the middle replaced by a note.</summary>
internal static class ToolOutput
{
    /// <summary>
    /// <paramref name="text"/> itself when it fits in <paramref name="maxChars"/>; otherwise its head and tail (cut at
    /// line ends where one is near) around a line <c>[… N characters cut …]</c>, at most <paramref name="maxChars"/> long.
    /// </summary>
    public static string HeadAndTail(string text, int maxChars)
    {
        if (text.Length <= maxChars)
        {
            return text;
        }

        var noteLength = Note(text.Length).Length + 2;
        var budget = Math.Max(0, maxChars - noteLength);
        var headEnd = budget / 2;
        var tailStart = text.Length - (budget - headEnd);

        // Prefer whole lines when a line end is within the last quarter of the head or the first quarter of the tail.
        var lineEnd = headEnd > 0 ? text.LastIndexOf('\n', headEnd - 1) : -1;
        if (lineEnd >= 0 && lineEnd + 1 >= headEnd - (headEnd / 4))
        {
            headEnd = lineEnd + 1;
        }

        var tailSlack = (text.Length - tailStart) / 4;
        var lineStart = tailStart < text.Length ? text.IndexOf('\n', tailStart, Math.Min(tailSlack + 1, text.Length - tailStart)) : -1;
        if (lineStart >= 0)
        {
            tailStart = lineStart + 1;
        }

        var head = text[..headEnd];
        var tail = text[tailStart..];
        var note = Note(tailStart - headEnd);
        return (head.Length == 0 || head.EndsWith('\n') ? head : head + "\n") + note + (tail.Length == 0 ? string.Empty : "\n" + tail);
    }

    private static string Note(int cut) => string.Create(CultureInfo.InvariantCulture, $"[… {cut} characters cut …]");
}
