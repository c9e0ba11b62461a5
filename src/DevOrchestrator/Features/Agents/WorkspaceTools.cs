using System.ComponentModel;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using DevOrchestrator.Features.Workflows;
using DevOrchestrator.Features.Workspaces;
using Microsoft.Extensions.AI;

namespace DevOrchestrator.Features.Agents;

/// <summary>
/// The development agent's tools over one git worktree, as <see cref="AIFunction"/>s for a tool-use loop over an
/// <see cref="IChatClient"/>: list_files, read_file, search, replace, write_file, run_command, show_diff, finish.
/// Every path is relative to the worktree and confined to it; <c>.git</c> is never written; protected files are never
/// read or written; commands run only through the <see cref="Sandbox"/>. Mistakes the model can correct come back as
/// a result starting with <c>error:</c>, never as an exception; every result fits in
/// <see cref="WorkspaceToolOptions.MaxOutputChars"/>.
/// </summary>
public sealed class WorkspaceTools
{
    private const int MaxListEntries = 5_000;
    private const int DefaultListEntries = 300;
    private const int MaxSearchMatches = 200;
    private const int MaxSearchLineChars = 300;
    private const long MaxReadBytes = 16 * 1024 * 1024;
    private const int BinarySniffBytes = 8_000;
    private static readonly TimeSpan s_regexTimeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_searchTimeLimit = TimeSpan.FromSeconds(30);
    private static readonly byte[] s_utf8Bom = [0xEF, 0xBB, 0xBF];
    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false);
    private static readonly EnumerationOptions s_enumeration = new() { AttributesToSkip = 0, IgnoreInaccessible = true, RecurseSubdirectories = false };

    private readonly WorkspacePaths _paths;
    private readonly string _worktree;
    private readonly Sandbox _sandbox;
    private readonly WorkspaceToolOptions _options;
    private readonly ProtectedFiles _protected;
    private readonly string? _gitDir;

    public WorkspaceTools(string worktree, Sandbox sandbox, WorkspaceToolOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(worktree);
        ArgumentNullException.ThrowIfNull(sandbox);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.CommandTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxOutputChars, 500);
        _paths = new WorkspacePaths(worktree);
        _worktree = Path.GetFullPath(worktree);
        _sandbox = sandbox;
        _options = options;
        _protected = new ProtectedFiles(options.ProtectedPatterns ?? WorkspaceActions.ProtectedPatterns);

        // Fixed now, before any command runs: a command could rewrite the worktree's .git file to point git elsewhere.
        _gitDir = FindGitDir(_paths.Root);
        AIFunction[] all =
        [
            AIFunctionFactory.Create(ListFilesAsync, AgentToolNames.ListFiles),
            AIFunctionFactory.Create(ReadFileAsync, AgentToolNames.ReadFile),
            AIFunctionFactory.Create(SearchAsync, AgentToolNames.Search),
            AIFunctionFactory.Create(ReplaceAsync, AgentToolNames.Replace),
            AIFunctionFactory.Create(WriteFileAsync, AgentToolNames.WriteFile),
            AIFunctionFactory.Create(RunCommandAsync, AgentToolNames.RunCommand),
            AIFunctionFactory.Create(ShowDiffAsync, AgentToolNames.ShowDiff),
            AIFunctionFactory.Create(Finish, AgentToolNames.Finish),
        ];
        Functions = [.. all.Where(f => options.Tools is null || options.Tools.Contains(f.Name) || f.Name == AgentToolNames.Finish)];
    }

    /// <summary>The tools offered (<see cref="WorkspaceToolOptions.Tools"/>), in the order above; a tool not offered cannot be called.</summary>
    public IReadOnlyList<AIFunction> Functions { get; }

    /// <summary>The summary the model gave when it called <c>finish</c>.</summary>
    public string? FinishSummary { get; private set; }

    public bool Finished => FinishSummary is not null;

    [Description("List the files and directories at a path of the workspace (directories end with '/', symbolic links show their target; .git is skipped). Paths are relative to the workspace root.")]
    private Task<string> ListFilesAsync(
        [Description("Directory relative to the workspace root; default '.'.")] string path = ".",
        [Description("List the whole tree below the directory, not only its entries.")] bool recursive = false,
        [Description("Stop after this many entries (default 300, at most 5000).")] int max_entries = DefaultListEntries,
        CancellationToken cancellationToken = default) => Guarded(() =>
    {
        if (!_paths.TryResolve(path, out var directory, out var error))
        {
            return error;
        }

        if (!Directory.Exists(directory.Full))
        {
            return File.Exists(directory.Full)
                ? $"error: '{directory.Requested}' is a file, not a directory (use read_file)"
                : $"error: '{directory.Requested}' does not exist";
        }

        var limit = Math.Clamp(max_entries, 1, MaxListEntries);
        var output = new StringBuilder();
        var count = 0;
        foreach (var entry in Entries(directory, recursive, cancellationToken))
        {
            if (count == limit)
            {
                output.Append(CultureInfo.InvariantCulture, $"[… stopped after {limit} entries; list a subdirectory or raise max_entries]\n");
                break;
            }

            count++;
            output.Append(entry.Kind switch
            {
                EntryKind.Directory => entry.Relative + "/",
                EntryKind.Link => $"{entry.Relative} -> {entry.LinkTarget}",
                _ => entry.Relative,
            }).Append('\n');
        }

        return count == 0 ? $"'{directory.Requested}' is empty" : Cut(output.ToString());
    });

    [Description("Read a text file of the workspace. Lines come numbered (number, tab, text); the first line says how many lines the file has. Read a long file in parts with start_line and end_line.")]
    private Task<string> ReadFileAsync(
        [Description("File path relative to the workspace root.")] string path,
        [Description("First line to show (1-based); default 1.")] int? start_line = null,
        [Description("Last line to show (inclusive); default the end of the file.")] int? end_line = null,
        CancellationToken cancellationToken = default) => GuardedAsync(async () =>
    {
        if (!TryResolveFile(path, write: false, out var file, out var error))
        {
            return error;
        }

        var (text, _, readError) = await ReadTextAsync(file, cancellationToken);
        if (readError is not null)
        {
            return readError;
        }

        var lines = SplitLines(text!);
        if (lines.Count == 0)
        {
            return $"{file.Relative}: empty file";
        }

        var first = Math.Max(1, start_line ?? 1);
        var last = Math.Min(lines.Count, end_line ?? lines.Count);
        if (first > lines.Count)
        {
            return $"error: start_line {first} is past the end of '{file.Relative}' ({lines.Count} lines)";
        }

        if (last < first)
        {
            return $"error: end_line {end_line} is before start_line {first}";
        }

        var width = last.ToString(CultureInfo.InvariantCulture).Length;
        var body = new StringBuilder();
        for (var n = first; n <= last; n++)
        {
            body.Append(n.ToString(CultureInfo.InvariantCulture).PadLeft(width)).Append('\t').Append(lines[n - 1]).Append('\n');
        }

        var header = first == 1 && last == lines.Count
            ? $"{file.Relative}: {Lines(lines.Count)}"
            : $"{file.Relative}: lines {first}-{last} of {lines.Count}";
        var shown = body.ToString();
        var budget = _options.MaxOutputChars - header.Length - 80;
        if (shown.Length > budget)
        {
            header += " (too long to show at once: the middle is cut; read it with start_line and end_line)";
            shown = ToolOutput.HeadAndTail(shown, budget);
        }

        return header + "\n" + shown;
    });

    [Description("Search the workspace's text files for a .NET regular expression, line by line; prints 'path:line: text' for each matching line (at most 200). Use (?i) for a case-insensitive search. Skips .git, binary and protected files.")]
    private Task<string> SearchAsync(
        [Description(".NET regular expression matched against each line.")] string pattern,
        [Description("File or directory to search, relative to the workspace root; default '.'.")] string path = ".",
        [Description("Only files matching this glob: '*.cs' matches file names anywhere; a glob with '/' ('src/**/*.cs') matches the path from the workspace root.")] string? glob = null,
        CancellationToken cancellationToken = default) => GuardedAsync(async () =>
    {
        if (string.IsNullOrEmpty(pattern))
        {
            return "error: pattern is empty";
        }

        Regex regex;
        Regex? globRegex = null;
        try
        {
            regex = new Regex(pattern, RegexOptions.CultureInvariant, s_regexTimeout);
            if (!string.IsNullOrWhiteSpace(glob))
            {
                globRegex = PathGlob.ToRegex(glob.Trim(), ignoreCase: false);
            }
        }
        catch (ArgumentException ex)
        {
            return $"error: invalid pattern: {ex.Message}";
        }

        if (!_paths.TryResolve(path, out var start, out var error))
        {
            return error;
        }

        IEnumerable<WorkspacePath> files;
        if (File.Exists(start.Full))
        {
            if (_protected.MatchingPattern(start.Relative) is { } matched)
            {
                return ProtectedError(start.Requested, matched);
            }

            files = [start];
        }
        else if (Directory.Exists(start.Full))
        {
            files = Entries(start, recursive: true, cancellationToken)
                .Where(e => e.Kind == EntryKind.File && !_protected.IsProtected(e.Relative))
                .Where(e => globRegex is null || globRegex.IsMatch(glob!.Contains('/', StringComparison.Ordinal) ? e.Relative : Path.GetFileName(e.Relative)))
                .Select(e => new WorkspacePath(e.Relative, e.Relative, e.Full));
        }
        else
        {
            return $"error: '{start.Requested}' does not exist";
        }

        var output = new StringBuilder();
        var matches = 0;
        var clock = Stopwatch.StartNew();
        foreach (var file in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (clock.Elapsed > s_searchTimeLimit)
            {
                output.Append(CultureInfo.InvariantCulture, $"[… search stopped after {s_searchTimeLimit.TotalSeconds:0} s; narrow the path or glob]\n");
                break;
            }

            var (text, _, readError) = await ReadTextAsync(file, cancellationToken);
            if (readError is not null)
            {
                continue;
            }

            var lines = SplitLines(text!);
            for (var i = 0; i < lines.Count; i++)
            {
                try
                {
                    if (!regex.IsMatch(lines[i]))
                    {
                        continue;
                    }
                }
                catch (RegexMatchTimeoutException)
                {
                    return $"error: the pattern took longer than {s_regexTimeout.TotalSeconds:0} s on {file.Relative}:{i + 1}; simplify it";
                }

                if (matches == MaxSearchMatches)
                {
                    output.Append(CultureInfo.InvariantCulture, $"[… stopped after {MaxSearchMatches} matches; narrow the pattern, path or glob]\n");
                    return Cut(output.ToString());
                }

                matches++;
                var line = lines[i].Trim();
                if (line.Length > MaxSearchLineChars)
                {
                    line = line[..MaxSearchLineChars] + " […]";
                }

                output.Append(CultureInfo.InvariantCulture, $"{file.Relative}:{i + 1}: {line}\n");
            }
        }

        return matches == 0 && output.Length == 0 ? "no matches" : Cut(output.ToString());
    });

    [Description("Replace an exact piece of text in a file. old_text must occur exactly once in the file (include enough surrounding lines to make it unique); whitespace and line breaks count. Returns the lines that now hold new_text.")]
    private Task<string> ReplaceAsync(
        [Description("File path relative to the workspace root.")] string path,
        [Description("The exact text to replace, as it is in the file (without line numbers).")] string old_text,
        [Description("The text to put in its place (may be empty to delete).")] string new_text,
        CancellationToken cancellationToken = default) => GuardedAsync(async () =>
    {
        if (!TryResolveFile(path, write: true, out var file, out var error))
        {
            return error;
        }

        if (string.IsNullOrEmpty(old_text))
        {
            return "error: old_text is empty";
        }

        var (text, bom, readError) = await ReadTextAsync(file, cancellationToken);
        if (readError is not null)
        {
            return readError;
        }

        var count = Occurrences(text!, old_text);
        if (count == 0 && text!.Contains("\r\n", StringComparison.Ordinal) && old_text.Contains('\n', StringComparison.Ordinal)
            && !old_text.Contains('\r', StringComparison.Ordinal))
        {
            // The file has Windows line ends; the model wrote Unix ones.
            old_text = old_text.Replace("\n", "\r\n", StringComparison.Ordinal);
            new_text = new_text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace("\n", "\r\n", StringComparison.Ordinal);
            count = Occurrences(text, old_text);
        }

        if (count != 1)
        {
            return count == 0
                ? $"error: old_text does not occur in '{file.Relative}' (nothing replaced; read the file again and copy the text exactly)"
                : $"error: old_text occurs {count} times in '{file.Relative}' (nothing replaced; include more surrounding text so that it occurs once)";
        }

        if (old_text == new_text)
        {
            return "error: old_text and new_text are the same";
        }

        var index = text!.IndexOf(old_text, StringComparison.Ordinal);
        var updated = string.Concat(text.AsSpan(0, index), new_text, text.AsSpan(index + old_text.Length));
        await WriteTextAsync(file.Full, updated, bom, cancellationToken);
        var firstLine = text.AsSpan(0, index).Count('\n') + 1;
        var lastLine = firstLine + Math.Max(0, new_text.TrimEnd('\n').AsSpan().Count('\n'));
        return new_text.Length == 0
            ? $"replaced: deleted the text at line {firstLine} of {file.Relative}"
            : $"replaced: {file.Relative} lines {firstLine}-{lastLine} now hold new_text";
    });

    [Description("Create or overwrite a file with the given content (missing directories are created).")]
    private Task<string> WriteFileAsync(
        [Description("File path relative to the workspace root.")] string path,
        [Description("The complete new content of the file.")] string content,
        CancellationToken cancellationToken = default) => GuardedAsync(async () =>
    {
        if (!TryResolveForWrite(path, out var file, out var error))
        {
            return error;
        }

        if (Directory.Exists(file.Full))
        {
            return $"error: '{file.Requested}' is a directory";
        }

        var existed = File.Exists(file.Full);
        var bom = existed && await HasBomAsync(file.Full, cancellationToken);
        Directory.CreateDirectory(Path.GetDirectoryName(file.Full)!);
        content ??= string.Empty;
        await WriteTextAsync(file.Full, content, bom, cancellationToken);
        return string.Create(CultureInfo.InvariantCulture,
            $"{(existed ? "overwrote" : "created")} {file.Relative} ({Lines(SplitLines(content).Count)}, {s_utf8.GetByteCount(content) + (bom ? 3 : 0)} bytes)");
    });

    [Description("Run a shell command (/bin/sh -c) in the workspace root, in a sandbox: no secrets in its environment, a time limit, and no network where the machine allows it. Returns the exit code, stdout and stderr. Use it to build, test and inspect.")]
    private Task<string> RunCommandAsync(
        [Description("The shell command line.")] string command,
        CancellationToken cancellationToken = default) => GuardedAsync(async () =>
    {
        if (string.IsNullOrWhiteSpace(command))
        {
            return "error: command is empty";
        }

        var sandboxed = new SandboxCommand(command, _worktree, _worktree, _options.CommandTimeout) { Network = _options.Network };
        var result = await _sandbox.RunAsync(_options.Caches is { } caches ? caches.Apply(sandboxed) : sandboxed, cancellationToken);
        var status = result.TimedOut
            ? string.Create(CultureInfo.InvariantCulture, $"timed out after {_options.CommandTimeout.TotalSeconds:0.#} s (the command was killed)")
            : string.Create(CultureInfo.InvariantCulture, $"exit code: {result.ExitCode}");
        if (NetworkFailure.Seen(result))
        {
            // Said first, so that the model does not spend turns trying to reach a package source.
            status += "\nnote: " + NetworkFailure.Hint + ". Packages already restored by the setup phase are in the offline caches.";
        }
        if (result.Stdout.Length == 0 && result.Stderr.Length == 0)
        {
            return status + "\n(no output)";
        }

        // Each stream gets half the budget, or more when the other needs less, so that stderr survives a long stdout.
        var budget = _options.MaxOutputChars - status.Length - 40;
        var stdoutBudget = Math.Max(budget / 2, budget - result.Stderr.Length);
        var stderrBudget = Math.Max(budget / 2, budget - result.Stdout.Length);
        var output = new StringBuilder(status).Append('\n');
        if (result.Stdout.Length > 0)
        {
            output.Append("--- stdout ---\n").Append(ToolOutput.HeadAndTail(result.Stdout, stdoutBudget)).Append(result.Stdout.EndsWith('\n') ? "" : "\n");
        }

        if (result.Stderr.Length > 0)
        {
            output.Append("--- stderr ---\n").Append(ToolOutput.HeadAndTail(result.Stderr, stderrBudget)).Append(result.Stderr.EndsWith('\n') ? "" : "\n");
        }

        return Cut(output.ToString());
    });

    [Description("Show every change in the workspace against the last commit (HEAD) as a unified diff, new untracked files included (ignored and protected files left out).")]
    private Task<string> ShowDiffAsync(CancellationToken cancellationToken = default) => GuardedAsync(async () =>
    {
        if (_gitDir is null)
        {
            return "error: the workspace is not a git repository";
        }

        var head = await GitAsync(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], null, cancellationToken);
        var baseTree = head.ExitCode == 0
            ? "HEAD"
            : (await GitAsync(["hash-object", "-t", "tree", "/dev/null"], null, cancellationToken)).Stdout.Trim();

        // Untracked files are added as intent-to-add to a copy of the index, so that they show as new files while the
        // real index stays exactly as it was.
        var index = Path.Combine(Path.GetTempPath(), "devorch-index-" + Guid.NewGuid().ToString("N"));
        try
        {
            var realIndex = Path.Combine(_gitDir, "index");
            if (File.Exists(realIndex))
            {
                File.Copy(realIndex, index);
            }

            string[] pathspecs = ["--", ".", .. _protected.GitExcludePathspecs()];
            var add = await GitAsync(["add", "--intent-to-add", "--ignore-errors", .. pathspecs], index, cancellationToken);
            if (add.ExitCode != 0 && add.Stderr.Length > 0)
            {
                return $"error: git add --intent-to-add failed: {add.Stderr.Trim()}";
            }

            string[] diffOptions = ["diff", "--no-color", "--no-ext-diff", "--no-textconv", baseTree];
            var diff = await GitAsync([.. diffOptions, .. pathspecs], index, cancellationToken);
            if (diff.ExitCode != 0)
            {
                return $"error: git diff failed: {diff.Stderr.Trim()}";
            }

            if (diff.Stdout.Length == 0)
            {
                return "no changes against HEAD";
            }

            if (diff.Stdout.Length <= _options.MaxOutputChars)
            {
                return diff.Stdout;
            }

            // Too long for one answer: the summary first, then the diff's head and tail.
            var stat = await GitAsync([.. diffOptions, "--stat=100", .. pathspecs], index, cancellationToken);
            var summary = ToolOutput.HeadAndTail(stat.Stdout, _options.MaxOutputChars / 4);
            return summary + "\n" + ToolOutput.HeadAndTail(diff.Stdout, _options.MaxOutputChars - summary.Length - 1);
        }
        finally
        {
            File.Delete(index);
            File.Delete(index + ".lock");
        }
    });

    [Description("Call this once the task is done (or cannot be done), with a short summary of what was changed and why, and how it was verified.")]
    private string Finish([Description("What was done, for the humans reviewing the change.")] string summary)
    {
        if (string.IsNullOrWhiteSpace(summary))
        {
            return "error: summary is empty";
        }

        FinishSummary = summary.Trim();
        return "finished";
    }

    private string Cut(string text) => ToolOutput.HeadAndTail(text, _options.MaxOutputChars);

    /// <summary>Runs a tool body; file system failures the model can react to become an <c>error:</c> result.</summary>
    private static async Task<string> GuardedAsync(Func<Task<string>> body)
    {
        try
        {
            return await body();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "error: " + ex.Message;
        }
        catch (RegexMatchTimeoutException)
        {
            return "error: a pattern took too long to match; simplify it";
        }
    }

    private static Task<string> Guarded(Func<string> body) => GuardedAsync(() => Task.FromResult(body()));

    /// <summary>Resolves the path of an existing file (not a directory) for reading or writing.</summary>
    private bool TryResolveFile(string path, bool write, [NotNullWhen(true)] out WorkspacePath? file, [NotNullWhen(false)] out string? error)
    {
        if (write ? !TryResolveForWrite(path, out file, out error) : !TryResolveForRead(path, out file, out error))
        {
            return false;
        }

        error = Directory.Exists(file.Full) ? $"error: '{file.Requested}' is a directory (use list_files)"
            : !File.Exists(file.Full) ? $"error: '{file.Requested}' does not exist"
            : null;
        if (error is not null)
        {
            file = null;
            return false;
        }

        return true;
    }

    private bool TryResolveForRead(string path, [NotNullWhen(true)] out WorkspacePath? file,
        [NotNullWhen(false)] out string? error)
    {
        if (!_paths.TryResolve(path, out file, out error))
        {
            return false;
        }

        // Both the name asked for and the file it resolves to (through links) must be unprotected.
        if ((_protected.MatchingPattern(file.Requested) ?? _protected.MatchingPattern(file.Relative)) is { } pattern)
        {
            error = ProtectedError(file.Requested, pattern);
            file = null;
            return false;
        }

        return true;
    }

    private bool TryResolveForWrite(string path, [NotNullWhen(true)] out WorkspacePath? file,
        [NotNullWhen(false)] out string? error)
    {
        if (!TryResolveForRead(path, out file, out error))
        {
            return false;
        }

        if (file.IsGitInternal)
        {
            error = $"error: '{file.Requested}' is git's own data (.git); it cannot be written";
            file = null;
            return false;
        }

        return true;
    }

    private static string ProtectedError(string path, string pattern) =>
        $"error: '{path}' is a protected file (matches '{pattern}'); it cannot be read or written";

    /// <summary>The text of a file (UTF-8, the BOM removed and reported), or an error for binary or huge files.</summary>
    private static async Task<(string? Text, bool Bom, string? Error)> ReadTextAsync(WorkspacePath file, CancellationToken cancellationToken)
    {
        var length = new FileInfo(file.Full).Length;
        if (length > MaxReadBytes)
        {
            return (null, false, $"error: '{file.Relative}' is too large ({length} bytes); look at parts of it with run_command (head, sed -n)");
        }

        var bytes = await File.ReadAllBytesAsync(file.Full, cancellationToken);
        if (bytes.AsSpan(0, Math.Min(bytes.Length, BinarySniffBytes)).Contains((byte)0))
        {
            return (null, false, $"error: '{file.Relative}' is a binary file ({bytes.Length} bytes); it cannot be shown");
        }

        var bom = bytes.AsSpan().StartsWith(s_utf8Bom);
        return (s_utf8.GetString(bom ? bytes.AsSpan(3) : bytes), bom, null);
    }

    private static async Task WriteTextAsync(string path, string text, bool bom, CancellationToken cancellationToken)
    {
        var bytes = s_utf8.GetBytes(text);
        await File.WriteAllBytesAsync(path, bom ? [.. s_utf8Bom, .. bytes] : bytes, cancellationToken);
    }

    private static async Task<bool> HasBomAsync(string path, CancellationToken cancellationToken)
    {
        var start = new byte[3];
        await using var stream = File.OpenRead(path);
        return await stream.ReadAtLeastAsync(start, 3, throwOnEndOfStream: false, cancellationToken) == 3 && start.AsSpan().SequenceEqual(s_utf8Bom);
    }

    private static string Lines(int count) => count == 1 ? "1 line" : string.Create(CultureInfo.InvariantCulture, $"{count} lines");

    /// <summary>Lines without their line ends (a final line end does not start another line).</summary>
    private static List<string> SplitLines(string text)
    {
        var lines = new List<string>(text.Split('\n'));
        if (lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        for (var i = 0; i < lines.Count; i++)
        {
            lines[i] = lines[i].TrimEnd('\r');
        }

        return lines;
    }

    /// <summary>How many times <paramref name="value"/> occurs in <paramref name="text"/>, overlapping occurrences included.</summary>
    private static int Occurrences(string text, string value)
    {
        var count = 0;
        for (var at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private enum EntryKind
    {
        File,
        Directory,
        Link,
    }

    private sealed record Entry(string Relative, string Full, EntryKind Kind, string? LinkTarget);

    /// <summary>The entries below a directory in name order, depth first; .git is skipped and links are not followed.</summary>
    private static IEnumerable<Entry> Entries(WorkspacePath directory, bool recursive, CancellationToken cancellationToken)
    {
        var prefix = directory.Relative == "." ? string.Empty : directory.Relative + "/";
        var children = new DirectoryInfo(directory.Full).EnumerateFileSystemInfos("*", s_enumeration)
            .Where(i => !string.Equals(i.Name, ".git", StringComparison.OrdinalIgnoreCase))
            .OrderBy(i => i.Name, StringComparer.Ordinal)
            .ToList();
        foreach (var child in children)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var relative = prefix + child.Name;
            if (child.LinkTarget is { } target)
            {
                yield return new Entry(relative, child.FullName, EntryKind.Link, target);
            }
            else if (child is DirectoryInfo)
            {
                yield return new Entry(relative, child.FullName, EntryKind.Directory, null);
                if (recursive)
                {
                    foreach (var entry in Entries(new WorkspacePath(relative, relative, child.FullName), recursive, cancellationToken))
                    {
                        yield return entry;
                    }
                }
            }
            else
            {
                yield return new Entry(relative, child.FullName, EntryKind.File, null);
            }
        }
    }

    private static string? FindGitDir(string root)
    {
        var dotGit = Path.Combine(root, ".git");
        if (Directory.Exists(dotGit))
        {
            return dotGit;
        }

        if (File.Exists(dotGit) && File.ReadLines(dotGit).FirstOrDefault() is { } line && line.StartsWith("gitdir:", StringComparison.Ordinal))
        {
            return Path.GetFullPath(line["gitdir:".Length..].Trim(), root);
        }

        return null;
    }

    /// <summary>
    /// Runs git on this worktree outside the sandbox: the git directory fixed at construction, no global or system
    /// config (HOME points nowhere), no external diff or textconv programs, no fsmonitor.
    /// </summary>
    private async Task<ChildProcessResult> GitAsync(IReadOnlyList<string> arguments, string? indexFile, CancellationToken cancellationToken)
    {
        var environment = GitCli.ScrubbedEnvironment("/nonexistent");
        environment["GIT_CONFIG_GLOBAL"] = "/dev/null";
        if (indexFile is not null)
        {
            environment["GIT_INDEX_FILE"] = indexFile;
        }

        return await ChildProcess.RunAsync(new ChildProcessStart
        {
            FileName = "git",
            Arguments = ["--git-dir=" + _gitDir, "--work-tree=" + _paths.Root, "-c", "core.fsmonitor=false", "-c", "core.quotePath=false", .. arguments],
            WorkingDirectory = _paths.Root,
            Environment = environment,
            Timeout = _options.CommandTimeout,
            OutputLimitBytes = 8 * _options.MaxOutputChars,
        }, TimeProvider.System, cancellationToken);
    }
}
