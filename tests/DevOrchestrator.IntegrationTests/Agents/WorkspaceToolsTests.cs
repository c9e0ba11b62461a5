using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using DevOrchestrator.Features.Agents;
using DevOrchestrator.Features.Workspaces;
using DevOrchestrator.Hosting;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.IntegrationTests.Agents;

public sealed class WorkspaceToolsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TheToolsHaveSnakeCaseNamesDescriptionsAndSnakeCaseParameters()
    {
        using var workspace = await ToolsWorkspace.CreateAsync(Ct);
        var tools = workspace.Tools();

        Assert.Equal(["list_files", "read_file", "search", "replace", "write_file", "run_command", "show_diff", "finish"], tools.Functions.Select(f => f.Name));
        Assert.All(tools.Functions, f => Assert.False(string.IsNullOrWhiteSpace(f.Description), f.Name));
        Assert.Equal(["path", "recursive", "max_entries"], Parameters(tools, "list_files"));
        Assert.Equal(["path", "start_line", "end_line"], Parameters(tools, "read_file"));
        Assert.Equal(["pattern", "path", "glob"], Parameters(tools, "search"));
        Assert.Equal(["path", "old_text", "new_text"], Parameters(tools, "replace"));
        Assert.Equal(["path", "content"], Parameters(tools, "write_file"));
        Assert.Equal(["command"], Parameters(tools, "run_command"));
        Assert.Empty(Parameters(tools, "show_diff"));
        Assert.Equal(["summary"], Parameters(tools, "finish"));

        var readFile = tools.Functions.Single(f => f.Name == "read_file").JsonSchema;
        Assert.Equal(["path"], readFile.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        Assert.False(string.IsNullOrWhiteSpace(readFile.GetProperty("properties").GetProperty("start_line").GetProperty("description").GetString()));
    }

    [Fact]
    public async Task ListFilesShowsDirectoriesWithASlashSkipsGitAndCanRecurse()
    {
        using var workspace = await ToolsWorkspace.CreateAsync(Ct);
        var tools = workspace.Tools();
        File.CreateSymbolicLink(Path.Combine(workspace.Worktree, "readme-link"), "README.md");

        Assert.Equal(".gitignore\nREADME.md\ndocs/\nreadme-link -> README.md\nsrc/\n", await Invoke(tools, "list_files", new() { ["path"] = "." }));
        Assert.Equal("src/app.txt\nsrc/nested/\n", await Invoke(tools, "list_files", new() { ["path"] = "src" }));
        Assert.Equal(
            ".gitignore\nREADME.md\ndocs/\ndocs/guide.md\nreadme-link -> README.md\nsrc/\nsrc/app.txt\nsrc/nested/\nsrc/nested/deep.txt\n",
            await Invoke(tools, "list_files", new() { ["recursive"] = true }));

        var capped = await Invoke(tools, "list_files", new() { ["recursive"] = true, ["max_entries"] = 3 });
        Assert.Equal(".gitignore\nREADME.md\ndocs/\n[… stopped after 3 entries; list a subdirectory or raise max_entries]\n", capped);

        Assert.Equal("error: 'README.md' is a file, not a directory (use read_file)", await Invoke(tools, "list_files", new() { ["path"] = "README.md" }));
        Assert.Equal("error: 'nope' does not exist", await Invoke(tools, "list_files", new() { ["path"] = "nope" }));
    }

    [Fact]
    public async Task ReadFileNumbersTheLinesSaysHowManyThereAreAndReadsRanges()
    {
        using var workspace = await ToolsWorkspace.CreateAsync(Ct);
        var tools = workspace.Tools();

        Assert.Equal("src/app.txt: 5 lines\n1\tline one\n2\tline two\n3\tthe needle is here\n4\tline four\n5\tline five\n",
            await Invoke(tools, "read_file", new() { ["path"] = "src/app.txt" }));
        Assert.Equal("src/app.txt: lines 2-3 of 5\n2\tline two\n3\tthe needle is here\n",
            await Invoke(tools, "read_file", new() { ["path"] = "src/app.txt", ["start_line"] = 2, ["end_line"] = 3 }));
        Assert.Equal("src/app.txt: lines 4-5 of 5\n4\tline four\n5\tline five\n",
            await Invoke(tools, "read_file", new() { ["path"] = "./src/nested/../app.txt", ["start_line"] = 4, ["end_line"] = 99 }));
        Assert.Equal("error: start_line 9 is past the end of 'src/app.txt' (5 lines)",
            await Invoke(tools, "read_file", new() { ["path"] = "src/app.txt", ["start_line"] = 9 }));

        await File.WriteAllBytesAsync(Path.Combine(workspace.Worktree, "image.png"), [0x89, 0x50, 0x4E, 0x47, 0, 0, 0, 13], Ct);
        Assert.Equal("error: 'image.png' is a binary file (8 bytes); it cannot be shown", await Invoke(tools, "read_file", new() { ["path"] = "image.png" }));
        Assert.Equal("error: 'missing.txt' does not exist", await Invoke(tools, "read_file", new() { ["path"] = "missing.txt" }));
        Assert.Equal("error: 'src' is a directory (use list_files)", await Invoke(tools, "read_file", new() { ["path"] = "src" }));

        await File.WriteAllTextAsync(Path.Combine(workspace.Worktree, "crlf.txt"), "a\r\nb\r\n", Ct);
        Assert.Equal("crlf.txt: 2 lines\n1\ta\n2\tb\n", await Invoke(tools, "read_file", new() { ["path"] = "crlf.txt" }));
    }

    [Fact]
    public async Task SearchPrintsFileLineAndTextFilteredByPathAndGlob()
    {
        using var workspace = await ToolsWorkspace.CreateAsync(Ct);
        var tools = workspace.Tools();
        await File.WriteAllTextAsync(Path.Combine(workspace.Worktree, ".env"), "TOKEN=needle-secret\n", Ct);
        await File.WriteAllBytesAsync(Path.Combine(workspace.Worktree, "blob.bin"), [.. "needle"u8, 0, 1, 2], Ct);

        Assert.Equal("docs/guide.md:2: Find the needle.\nsrc/app.txt:3: the needle is here\nsrc/nested/deep.txt:1: needle deep down\n",
            await Invoke(tools, "search", new() { ["pattern"] = "needle" }));
        Assert.Equal("docs/guide.md:2: Find the needle.\n", await Invoke(tools, "search", new() { ["pattern"] = "needle", ["glob"] = "*.md" }));
        Assert.Equal("src/app.txt:3: the needle is here\nsrc/nested/deep.txt:1: needle deep down\n",
            await Invoke(tools, "search", new() { ["pattern"] = "needle", ["path"] = "src" }));
        Assert.Equal("src/nested/deep.txt:1: needle deep down\n", await Invoke(tools, "search", new() { ["pattern"] = "needle", ["glob"] = "src/*/*.txt" }));
        Assert.Equal("no matches", await Invoke(tools, "search", new() { ["pattern"] = @"^the\s+NEEDLE", ["path"] = "src/app.txt", ["glob"] = null }));
        Assert.Equal("src/app.txt:3: the needle is here\n", await Invoke(tools, "search", new() { ["pattern"] = @"(?i)^the\s+NEEDLE", ["path"] = "src/app.txt" }));
        Assert.Equal("no matches", await Invoke(tools, "search", new() { ["pattern"] = "haystack" }));
        Assert.StartsWith("error: invalid pattern:", await Invoke(tools, "search", new() { ["pattern"] = "(unclosed" }), StringComparison.Ordinal);
        Assert.Equal("error: '.env' is a protected file (matches '.env'); it cannot be read or written",
            await Invoke(tools, "search", new() { ["pattern"] = "needle", ["path"] = ".env" }));
    }

    [Fact]
    public async Task SearchStopsAtTwoHundredMatchesAndRefusesACatastrophicPattern()
    {
        using var workspace = await ToolsWorkspace.CreateAsync(Ct);
        var tools = workspace.Tools(maxOutputChars: 100_000);
        await File.WriteAllLinesAsync(Path.Combine(workspace.Worktree, "many.txt"), Enumerable.Range(1, 300).Select(i => $"hit {i}"), Ct);

        var many = (await Invoke(tools, "search", new() { ["pattern"] = "^hit", ["path"] = "many.txt" })).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(201, many.Length);
        Assert.Equal("many.txt:200: hit 200", many[199]);
        Assert.Equal("[… stopped after 200 matches; narrow the pattern, path or glob]", many[200]);

        await File.WriteAllTextAsync(Path.Combine(workspace.Worktree, "evil.txt"), new string('a', 40) + "!\n", Ct);
        var slow = await Invoke(tools, "search", new() { ["pattern"] = "^(a+)+$", ["path"] = "evil.txt" });
        Assert.Equal("error: the pattern took longer than 1 s on evil.txt:1; simplify it", slow);
    }

    [Fact]
    public async Task ReplaceNeedsExactlyOneOccurrence()
    {
        using var workspace = await ToolsWorkspace.CreateAsync(Ct);
        var tools = workspace.Tools();
        var app = Path.Combine(workspace.Worktree, "src", "app.txt");
        var before = await File.ReadAllTextAsync(app, Ct);

        Assert.Equal("error: old_text does not occur in 'src/app.txt' (nothing replaced; read the file again and copy the text exactly)",
            await Invoke(tools, "replace", new() { ["path"] = "src/app.txt", ["old_text"] = "line six", ["new_text"] = "x" }));
        Assert.Equal("error: old_text occurs 2 times in 'src/app.txt' (nothing replaced; include more surrounding text so that it occurs once)",
            await Invoke(tools, "replace", new() { ["path"] = "src/app.txt", ["old_text"] = "line f", ["new_text"] = "x" }));
        Assert.Equal(before, await File.ReadAllTextAsync(app, Ct));

        Assert.Equal("replaced: src/app.txt lines 2-3 now hold new_text",
            await Invoke(tools, "replace", new() { ["path"] = "src/app.txt", ["old_text"] = "line two\n", ["new_text"] = "line 2a\nline 2b\n" }));
        Assert.Equal("line one\nline 2a\nline 2b\nthe needle is here\nline four\nline five\n", await File.ReadAllTextAsync(app, Ct));

        // A file with Windows line ends takes old_text written with Unix ones, and keeps its line ends.
        var crlf = Path.Combine(workspace.Worktree, "crlf.txt");
        await File.WriteAllTextAsync(crlf, "a\r\nb\r\nc\r\n", Ct);
        Assert.Equal("replaced: crlf.txt lines 1-2 now hold new_text",
            await Invoke(tools, "replace", new() { ["path"] = "crlf.txt", ["old_text"] = "a\nb", ["new_text"] = "A\nB" }));
        Assert.Equal("A\r\nB\r\nc\r\n", await File.ReadAllTextAsync(crlf, Ct));
        Assert.Equal("error: 'nope.txt' does not exist", await Invoke(tools, "replace", new() { ["path"] = "nope.txt", ["old_text"] = "a", ["new_text"] = "b" }));
    }

    [Fact]
    public async Task WriteFileCreatesDirectoriesAndNeverWritesGitData()
    {
        using var workspace = await ToolsWorkspace.CreateAsync(Ct);
        var tools = workspace.Tools();

        Assert.Equal("created new/deeper/file.txt (2 lines, 12 bytes)",
            await Invoke(tools, "write_file", new() { ["path"] = "new/deeper/file.txt", ["content"] = "hello\nworld\n" }));
        Assert.Equal("hello\nworld\n", await File.ReadAllTextAsync(Path.Combine(workspace.Worktree, "new", "deeper", "file.txt"), Ct));
        Assert.Equal("overwrote README.md (1 line, 4 bytes)", await Invoke(tools, "write_file", new() { ["path"] = "README.md", ["content"] = "new\n" }));
        Assert.Equal("new\n", await File.ReadAllTextAsync(Path.Combine(workspace.Worktree, "README.md"), Ct));
        Assert.Equal("error: 'src' is a directory", await Invoke(tools, "write_file", new() { ["path"] = "src", ["content"] = "x" }));

        // The worktree's .git is a file pointing at the repository's git directory; neither may be written.
        var dotGit = await File.ReadAllTextAsync(Path.Combine(workspace.Worktree, ".git"), Ct);
        Assert.Equal("error: '.git' is git's own data (.git); it cannot be written", await Invoke(tools, "write_file", new() { ["path"] = ".git", ["content"] = "gitdir: /tmp\n" }));
        Assert.Equal(dotGit, await File.ReadAllTextAsync(Path.Combine(workspace.Worktree, ".git"), Ct));

        var repoTools = workspace.Tools(workspace.Repository);
        var config = await File.ReadAllTextAsync(Path.Combine(workspace.Repository, ".git", "config"), Ct);
        Assert.Equal("error: '.git/config' is git's own data (.git); it cannot be written",
            await Invoke(repoTools, "write_file", new() { ["path"] = ".git/config", ["content"] = "[core]\n" }));
        Assert.Equal("error: 'src/../.GIT/hooks/pre-commit' is git's own data (.git); it cannot be written",
            await Invoke(repoTools, "write_file", new() { ["path"] = "src/../.GIT/hooks/pre-commit", ["content"] = "#!/bin/sh\n" }));
        Assert.Equal("error: '.git/config' is git's own data (.git); it cannot be written",
            await Invoke(repoTools, "replace", new() { ["path"] = ".git/config", ["old_text"] = "[core]", ["new_text"] = "[x]" }));
        Assert.Equal(config, await File.ReadAllTextAsync(Path.Combine(workspace.Repository, ".git", "config"), Ct));
        Assert.False(File.Exists(Path.Combine(workspace.Repository, ".git", "hooks", "pre-commit")));

        // Reading git's data is allowed.
        var configHead = await Invoke(repoTools, "read_file", new() { ["path"] = ".git/config", ["start_line"] = 1, ["end_line"] = 1 });
        Assert.Matches(@"^\.git/config: lines 1-1 of \d+\n1\t\[core\]\n$", configHead);
    }

    [Theory]
    [InlineData("../outside/secret.txt")]
    [InlineData("src/../../outside/secret.txt")]
    [InlineData("/etc/passwd")]
    [InlineData("leak.txt")]
    [InlineData("linkdir/secret.txt")]
    [InlineData("src/relative-link/secret.txt")]
    [InlineData("hop1")]
    public async Task PathsOutsideTheWorkspaceAreRefusedByEveryTool(string path)
    {
        using var workspace = await ToolsWorkspace.CreateAsync(Ct);
        workspace.AddLinksOutside();
        var tools = workspace.Tools();
        var secret = Path.Combine(workspace.Outside, "secret.txt");
        var expected = path.StartsWith('/')
            ? $"error: path '{path}' is outside the workspace (absolute paths are refused; use a path relative to the workspace root)"
            : path.Contains("..", StringComparison.Ordinal) && !path.Contains("link", StringComparison.Ordinal)
                ? $"error: path '{path}' is outside the workspace"
                : $"error: path '{path}' is outside the workspace (a symbolic link on the way points outside)";

        Assert.Equal(expected, await Invoke(tools, "read_file", new() { ["path"] = path }));
        Assert.Equal(expected, await Invoke(tools, "search", new() { ["pattern"] = "secret", ["path"] = path }));
        Assert.Equal(expected, await Invoke(tools, "replace", new() { ["path"] = path, ["old_text"] = "outside secret", ["new_text"] = "changed" }));
        Assert.Equal(expected, await Invoke(tools, "write_file", new() { ["path"] = path, ["content"] = "overwritten" }));
        Assert.Equal(expected, await Invoke(tools, "list_files", new() { ["path"] = path }));
        Assert.Equal("outside secret\n", await File.ReadAllTextAsync(secret, Ct));
    }

    [Fact]
    public async Task SymlinkedDirectoriesPointingOutAreNeitherListedIntoNorWrittenThrough()
    {
        using var workspace = await ToolsWorkspace.CreateAsync(Ct);
        workspace.AddLinksOutside();
        var tools = workspace.Tools();

        Assert.Equal("error: path 'linkdir' is outside the workspace (a symbolic link on the way points outside)",
            await Invoke(tools, "list_files", new() { ["path"] = "linkdir" }));
        Assert.Equal("error: path 'linkdir/new.txt' is outside the workspace (a symbolic link on the way points outside)",
            await Invoke(tools, "write_file", new() { ["path"] = "linkdir/new.txt", ["content"] = "x" }));
        Assert.Equal("error: path 'linkdir/sub/new.txt' is outside the workspace (a symbolic link on the way points outside)",
            await Invoke(tools, "write_file", new() { ["path"] = "linkdir/sub/new.txt", ["content"] = "x" }));
        Assert.Equal(["secret.txt"], Directory.EnumerateFileSystemEntries(workspace.Outside).Select(Path.GetFileName));

        // Walking the tree shows links but never follows them.
        var listing = await Invoke(tools, "list_files", new() { ["recursive"] = true });
        Assert.Contains($"linkdir -> {workspace.Outside}\n", listing, StringComparison.Ordinal);
        Assert.DoesNotContain("linkdir/", listing, StringComparison.Ordinal);
        Assert.Equal("no matches", await Invoke(tools, "search", new() { ["pattern"] = "outside secret" }));

        // Links that stay inside work, and a dangling link inside is written through to its target inside.
        Directory.CreateSymbolicLink(Path.Combine(workspace.Worktree, "code"), "src");
        File.CreateSymbolicLink(Path.Combine(workspace.Worktree, "todo-link"), "docs/todo.md");
        Assert.Equal("src/app.txt: lines 3-3 of 5\n3\tthe needle is here\n",
            await Invoke(tools, "read_file", new() { ["path"] = "code/app.txt", ["start_line"] = 3, ["end_line"] = 3 }));
        Assert.Equal("created docs/todo.md (1 line, 5 bytes)", await Invoke(tools, "write_file", new() { ["path"] = "todo-link", ["content"] = "todo\n" }));
        Assert.Equal("todo\n", await File.ReadAllTextAsync(Path.Combine(workspace.Worktree, "docs", "todo.md"), Ct));
    }

    [Fact]
    public async Task ProtectedFilesAreNeverReadOrWritten()
    {
        using var workspace = await ToolsWorkspace.CreateAsync(Ct);
        var tools = workspace.Tools();
        var env = Path.Combine(workspace.Worktree, ".env");
        await File.WriteAllTextAsync(env, "GITHUB_TOKEN=secret123\n", Ct);
        await File.WriteAllTextAsync(Path.Combine(workspace.Worktree, "id_rsa"), "PRIVATE KEY secret123\n", Ct);
        File.CreateSymbolicLink(Path.Combine(workspace.Worktree, "notes.txt"), ".env");

        Assert.Equal("error: '.env' is a protected file (matches '.env'); it cannot be read or written", await Invoke(tools, "read_file", new() { ["path"] = ".env" }));
        Assert.Equal("error: 'id_rsa' is a protected file (matches 'id_rsa*'); it cannot be read or written", await Invoke(tools, "read_file", new() { ["path"] = "id_rsa" }));
        Assert.Equal("error: 'notes.txt' is a protected file (matches '.env'); it cannot be read or written", await Invoke(tools, "read_file", new() { ["path"] = "notes.txt" }));
        Assert.Equal("error: 'notes.txt' is a protected file (matches '.env'); it cannot be read or written",
            await Invoke(tools, "write_file", new() { ["path"] = "notes.txt", ["content"] = "x" }));
        Assert.Equal("error: 'config/Server.KEY' is a protected file (matches '*.key'); it cannot be read or written",
            await Invoke(tools, "write_file", new() { ["path"] = "config/Server.KEY", ["content"] = "x" }));
        Assert.Equal("error: '.env' is a protected file (matches '.env'); it cannot be read or written",
            await Invoke(tools, "replace", new() { ["path"] = ".env", ["old_text"] = "secret123", ["new_text"] = "x" }));
        Assert.Equal("no matches", await Invoke(tools, "search", new() { ["pattern"] = "secret123" }));
        Assert.Equal("GITHUB_TOKEN=secret123\n", await File.ReadAllTextAsync(env, Ct));
        Assert.False(Directory.Exists(Path.Combine(workspace.Worktree, "config")));
        Assert.DoesNotContain("secret123", await Invoke(tools, "show_diff", []), StringComparison.Ordinal);

        // Patterns are an option; with other patterns, .env is an ordinary file.
        var custom = workspace.Tools(protectedPatterns: ["*.secret", "private/**"]);
        Assert.Equal(".env: 1 line\n1\tGITHUB_TOKEN=secret123\n", await Invoke(custom, "read_file", new() { ["path"] = ".env" }));
        Assert.Equal("error: 'a.SECRET' is a protected file (matches '*.secret'); it cannot be read or written",
            await Invoke(custom, "write_file", new() { ["path"] = "a.SECRET", ["content"] = "x" }));
        Assert.Equal("error: 'private/x/y.txt' is a protected file (matches 'private/**'); it cannot be read or written",
            await Invoke(custom, "write_file", new() { ["path"] = "private/x/y.txt", ["content"] = "x" }));
    }

    [Fact]
    public async Task LongOutputsKeepHeadAndTailWithinTheLimit()
    {
        using var workspace = await ToolsWorkspace.CreateAsync(Ct);
        var tools = workspace.Tools(maxOutputChars: 2_000);
        await File.WriteAllLinesAsync(Path.Combine(workspace.Worktree, "long.txt"), Enumerable.Range(1, 1000).Select(i => $"line {i}"), Ct);

        var read = await Invoke(tools, "read_file", new() { ["path"] = "long.txt" });
        Assert.InRange(read.Length, 1_500, 2_000);
        Assert.StartsWith("long.txt: 1000 lines (too long to show at once: the middle is cut; read it with start_line and end_line)\n   1\tline 1\n", read, StringComparison.Ordinal);
        Assert.EndsWith("1000\tline 1000\n", read, StringComparison.Ordinal);
        Assert.Matches(@"\n\[… \d+ characters cut …\]\n", read);
        var shown = read.Split('\n').Where(l => l.Contains('\t', StringComparison.Ordinal)).ToList();
        Assert.All(shown, l => Assert.Matches(@"^ *(\d+)\tline \1$", l));

        var run = await Invoke(tools, "run_command", new() { ["command"] = "seq 1 5000; echo failed-at-the-end >&2; exit 1" });
        Assert.InRange(run.Length, 1_500, 2_000);
        Assert.StartsWith("exit code: 1\n--- stdout ---\n1\n2\n3\n", run, StringComparison.Ordinal);
        Assert.Contains("\n5000\n--- stderr ---\nfailed-at-the-end\n", run, StringComparison.Ordinal);
        // Whole lines around one note: 1…k, then the note, then m…5000 (nothing invented, nothing reordered).
        var stdout = run.Split('\n')[2..^3];
        var note = Array.FindIndex(stdout, l => l.StartsWith("[… ", StringComparison.Ordinal));
        Assert.Matches(@"^\[… \d+ characters cut …\]$", stdout[note]);
        Assert.Equal(Enumerable.Range(1, note).Select(i => i.ToString(CultureInfo.InvariantCulture)), stdout[..note]);
        var tailStart = int.Parse(stdout[note + 1], CultureInfo.InvariantCulture);
        Assert.Equal(Enumerable.Range(tailStart, 5001 - tailStart).Select(i => i.ToString(CultureInfo.InvariantCulture)), stdout[(note + 1)..]);
    }

    [Fact]
    public void TheCutCountsExactlyWhatItLeavesOut()
    {
        var text = string.Concat(Enumerable.Range(0, 100).Select(i => $"L{i:D3}" + new string('x', 95) + "\n"));
        var cut = ToolOutput.HeadAndTail(text, 1_000);

        Assert.True(cut.Length <= 1_000, $"{cut.Length}");
        var note = Regex.Match(cut, @"\n\[… (\d+) characters cut …\]\n");
        Assert.True(note.Success, cut);
        var head = cut[..(note.Index + 1)];
        var tail = cut[(note.Index + note.Length)..];
        Assert.StartsWith("L000", head, StringComparison.Ordinal);
        Assert.StartsWith(head, text, StringComparison.Ordinal);
        Assert.EndsWith(tail, text, StringComparison.Ordinal);
        Assert.Equal(text.Length, head.Length + int.Parse(note.Groups[1].Value, CultureInfo.InvariantCulture) + tail.Length);
        Assert.All((head + tail).Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.Equal(99, line.Length));

        Assert.Same(text, ToolOutput.HeadAndTail(text, text.Length));
        var oneLine = new string('y', 5_000);
        var cutLine = ToolOutput.HeadAndTail(oneLine, 1_000);
        Assert.True(cutLine.Length <= 1_000, $"{cutLine.Length}");
        Assert.Matches(@"^y+\n\[… \d+ characters cut …\]\ny+$", cutLine);
    }

    [Fact]
    public async Task RunCommandRunsInTheWorkspaceAndReportsFailures()
    {
        using var workspace = await ToolsWorkspace.CreateAsync(Ct);
        var tools = workspace.Tools();

        Assert.Equal("exit code: 0\n--- stdout ---\n# demo\n", await Invoke(tools, "run_command", new() { ["command"] = "cat README.md" }));
        Assert.Equal("exit code: 3\n--- stdout ---\nhello\n--- stderr ---\noops\n",
            await Invoke(tools, "run_command", new() { ["command"] = "echo hello; echo oops >&2; exit 3" }));
        Assert.Equal("exit code: 0\n(no output)", await Invoke(tools, "run_command", new() { ["command"] = "echo made > made.txt" }));
        Assert.Equal("made\n", await File.ReadAllTextAsync(Path.Combine(workspace.Worktree, "made.txt"), Ct));
        var missing = await Invoke(tools, "run_command", new() { ["command"] = "no-such-program-here" });
        Assert.StartsWith("exit code: 127\n--- stderr ---\n", missing, StringComparison.Ordinal);
        Assert.Contains("not found", missing, StringComparison.Ordinal);
        Assert.Equal("error: command is empty", await Invoke(tools, "run_command", new() { ["command"] = "  " }));

        var quick = workspace.Tools(commandTimeout: TimeSpan.FromSeconds(1));
        Assert.Equal("timed out after 1 s (the command was killed)\n--- stdout ---\nstarted\n",
            await Invoke(quick, "run_command", new() { ["command"] = "echo started; sleep 20" }));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ShowDiffIncludesNewFilesAndLeavesTheIndexAlone(bool plainRepository)
    {
        using var workspace = await ToolsWorkspace.CreateAsync(Ct);
        var directory = plainRepository ? workspace.Repository : workspace.Worktree;
        var tools = workspace.Tools(directory);
        Assert.Equal("no changes against HEAD", await Invoke(tools, "show_diff", []));

        await Invoke(tools, "write_file", new() { ["path"] = "notes/new.txt", ["content"] = "brand new\n" });
        await Invoke(tools, "replace", new() { ["path"] = "README.md", ["old_text"] = "# demo\n", ["new_text"] = "# demo\nmore\n" });
        await File.WriteAllTextAsync(Path.Combine(directory, "debug.log"), "ignored by .gitignore\n", Ct);
        await File.WriteAllTextAsync(Path.Combine(directory, ".env"), "TOKEN=secret123\n", Ct);
        await File.WriteAllTextAsync(Path.Combine(directory, "staged.txt"), "staged\n", Ct);
        await GitFixtures.GitAsync(directory, Ct, "add", "staged.txt");
        var statusBefore = await GitFixtures.GitAsync(directory, Ct, "status", "--porcelain");

        var diff = await Invoke(tools, "show_diff", []);

        Assert.Equal(
            """
            diff --git a/README.md b/README.md
            index fc72a5c..d9c010a 100644
            --- a/README.md
            +++ b/README.md
            @@ -1 +1,2 @@
             # demo
            +more
            diff --git a/notes/new.txt b/notes/new.txt
            new file mode 100644
            index 0000000..d5a09df
            --- /dev/null
            +++ b/notes/new.txt
            @@ -0,0 +1 @@
            +brand new
            diff --git a/staged.txt b/staged.txt
            new file mode 100644
            index 0000000..19d9cc8
            --- /dev/null
            +++ b/staged.txt
            @@ -0,0 +1 @@
            +staged

            """, diff);
        Assert.Equal(statusBefore, await GitFixtures.GitAsync(directory, Ct, "status", "--porcelain"));
        Assert.Equal("staged.txt", await GitFixtures.GitAsync(directory, Ct, "diff", "--cached", "--name-only"));
        Assert.Equal("", await GitFixtures.GitAsync(directory, Ct, "ls-files", "notes"));
    }

    [Fact]
    public async Task ShowDiffUsesTheGitDirectoryFoundAtTheStart()
    {
        using var workspace = await ToolsWorkspace.CreateAsync(Ct);
        var tools = workspace.Tools();
        await Invoke(tools, "write_file", new() { ["path"] = "x.txt", ["content"] = "x\n" });

        // A command repoints the worktree's .git file; show_diff still reads the real repository.
        Assert.Equal("exit code: 0\n(no output)", await Invoke(tools, "run_command", new() { ["command"] = "echo 'gitdir: /nonexistent' > .git" }));
        var diff = await Invoke(tools, "show_diff", []);
        Assert.StartsWith("diff --git a/x.txt b/x.txt\nnew file mode 100644\n", diff, StringComparison.Ordinal);

        Directory.CreateDirectory(Path.Combine(workspace.Root, "plain"));
        var noGit = workspace.Tools(Path.Combine(workspace.Root, "plain"));
        Assert.Equal("error: the workspace is not a git repository", await Invoke(noGit, "show_diff", []));
    }

    [Fact]
    public async Task ShowDiffWorksBeforeTheFirstCommitAndSummarisesALongDiff()
    {
        using var workspace = await ToolsWorkspace.CreateAsync(Ct);
        var fresh = Path.Combine(workspace.Root, "fresh");
        Directory.CreateDirectory(fresh);
        await GitFixtures.GitAsync(fresh, Ct, "init", "-q", "--initial-branch=main");
        var tools = workspace.Tools(fresh, maxOutputChars: 2_000);
        Assert.Equal("no changes against HEAD", await Invoke(tools, "show_diff", []));

        await Invoke(tools, "write_file", new() { ["path"] = "a.txt", ["content"] = "first\n" });
        Assert.Equal("diff --git a/a.txt b/a.txt\nnew file mode 100644\nindex 0000000..9c59e24\n--- /dev/null\n+++ b/a.txt\n@@ -0,0 +1 @@\n+first\n",
            await Invoke(tools, "show_diff", []));

        await Invoke(tools, "write_file", new() { ["path"] = "big.txt", ["content"] = string.Concat(Enumerable.Range(1, 1000).Select(i => $"row {i}\n")) });
        var diff = await Invoke(tools, "show_diff", []);
        Assert.True(diff.Length <= 2_000, $"{diff.Length}");
        Assert.StartsWith(" a.txt   |    1 +\n big.txt | 1000 ++++", diff, StringComparison.Ordinal);
        Assert.Contains(" 2 files changed, 1001 insertions(+)\n", diff, StringComparison.Ordinal);
        Assert.Contains("\ndiff --git a/a.txt b/a.txt\n", diff, StringComparison.Ordinal);
        Assert.Matches(@"\n\[… \d+ characters cut …\]\n", diff);
        Assert.EndsWith("+row 1000\n", diff, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FinishRecordsTheSummary()
    {
        using var workspace = await ToolsWorkspace.CreateAsync(Ct);
        var tools = workspace.Tools();
        Assert.False(tools.Finished);
        Assert.Null(tools.FinishSummary);

        Assert.Equal("error: summary is empty", await Invoke(tools, "finish", new() { ["summary"] = " " }));
        Assert.False(tools.Finished);

        Assert.Equal("finished", await Invoke(tools, "finish", new() { ["summary"] = " Added a greeting; tests pass.\n" }));
        Assert.True(tools.Finished);
        Assert.Equal("Added a greeting; tests pass.", tools.FinishSummary);
    }

    private static List<string> Parameters(WorkspaceTools tools, string name) =>
        [.. tools.Functions.Single(f => f.Name == name).JsonSchema.GetProperty("properties").EnumerateObject().Select(p => p.Name)];

    /// <summary>Invokes a tool the way a chat loop does: by name, with the model's arguments.</summary>
    private static async Task<string> Invoke(WorkspaceTools tools, string name, Dictionary<string, object?> arguments)
    {
        var function = tools.Functions.Single(f => f.Name == name);
        var args = new AIFunctionArguments();
        foreach (var (key, value) in arguments)
        {
            args[key] = value;
        }

        var result = await function.InvokeAsync(args, Ct);
        return result switch
        {
            string text => text,
            JsonElement { ValueKind: JsonValueKind.String } element => element.GetString()!,
            _ => throw new InvalidOperationException($"{name} returned {result?.GetType().Name ?? "null"}: {result}"),
        };
    }

    /// <summary>
    /// A temporary directory with a git repository (README.md, .gitignore, src/, docs/; one commit), a worktree of it
    /// on a task branch (as workspace.prepare makes), and a directory outside both holding a secret.
    /// </summary>
    private sealed class ToolsWorkspace : IDisposable
    {
        private ToolsWorkspace(string root)
        {
            Root = root;
            Repository = Path.Combine(root, "repo");
            Worktree = Path.Combine(root, "worktree");
            Outside = Path.Combine(root, "outside");
        }

        public string Root { get; }
        public string Repository { get; }
        public string Worktree { get; }
        public string Outside { get; }

        public static async Task<ToolsWorkspace> CreateAsync(CancellationToken ct)
        {
            var workspace = new ToolsWorkspace(Path.Combine(Path.GetTempPath(), "devorch-tools-" + Guid.NewGuid().ToString("N")[..12]));
            var repo = workspace.Repository;
            Directory.CreateDirectory(Path.Combine(repo, "src", "nested"));
            Directory.CreateDirectory(Path.Combine(repo, "docs"));
            Directory.CreateDirectory(workspace.Outside);
            await File.WriteAllTextAsync(Path.Combine(workspace.Outside, "secret.txt"), "outside secret\n", ct);
            await File.WriteAllTextAsync(Path.Combine(repo, "README.md"), "# demo\n", ct);
            await File.WriteAllTextAsync(Path.Combine(repo, ".gitignore"), "*.log\n", ct);
            await File.WriteAllTextAsync(Path.Combine(repo, "src", "app.txt"), "line one\nline two\nthe needle is here\nline four\nline five\n", ct);
            await File.WriteAllTextAsync(Path.Combine(repo, "src", "nested", "deep.txt"), "needle deep down\n", ct);
            await File.WriteAllTextAsync(Path.Combine(repo, "docs", "guide.md"), "# Guide\nFind the needle.\n", ct);
            await GitFixtures.GitAsync(repo, ct, "init", "-q", "--initial-branch=main");
            await GitFixtures.GitAsync(repo, ct, "add", "-A");
            await GitFixtures.GitAsync(repo, ct, "-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "initial");
            await GitFixtures.GitAsync(repo, ct, "worktree", "add", "-q", "-b", "devorch/task-1", workspace.Worktree);
            return workspace;
        }

        /// <summary>Links in the worktree that lead outside: to a file, to a directory, relative, and through a chain.</summary>
        public void AddLinksOutside()
        {
            File.CreateSymbolicLink(Path.Combine(Worktree, "leak.txt"), Path.Combine(Outside, "secret.txt"));
            Directory.CreateSymbolicLink(Path.Combine(Worktree, "linkdir"), Outside);
            Directory.CreateSymbolicLink(Path.Combine(Worktree, "src", "relative-link"), "../../outside");
            File.CreateSymbolicLink(Path.Combine(Worktree, "hop1"), "src/hop2");
            File.CreateSymbolicLink(Path.Combine(Worktree, "src", "hop2"), "../../outside/secret.txt");
        }

        public WorkspaceTools Tools(string? directory = null, int maxOutputChars = 20_000, IReadOnlyList<string>? protectedPatterns = null, TimeSpan? commandTimeout = null)
        {
            var sandbox = new Sandbox(Options.Create(new SandboxOptions { SandboxOutputLimitBytes = 1_000_000 }),
                Options.Create(new WorkspaceOptions { WorkspacesDir = Path.Combine(Root, "ws") }), Options.Create(new ServerOptions()), TimeProvider.System, NullLogger<Sandbox>.Instance);
            return new WorkspaceTools(directory ?? Worktree, sandbox,
                new WorkspaceToolOptions(commandTimeout ?? TimeSpan.FromSeconds(30), maxOutputChars, protectedPatterns));
        }

        public void Dispose()
        {
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (IOException)
            {
                // Best effort.
            }
            catch (UnauthorizedAccessException)
            {
                // Best effort.
            }
        }
    }
}
