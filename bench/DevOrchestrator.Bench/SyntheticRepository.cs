using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace DevOrchestrator.Bench;

/// <summary>
/// A generated bare repository standing in for a project's remote: <c>files</c> text files (source-like lines of
/// words, 10–80 lines each) in nested directories, and a history of <c>commits</c> commits on <c>main</c>, the first
/// adding every file and each later one editing 1–8 files. Written in one <c>git fast-import</c> stream (seconds,
/// not thousands of <c>git commit</c> processes), then packed the way a server keeps it: one pack with deltas searched
/// again (<c>repack -a -d -f</c>, gc's window and depth), a reachability bitmap and a commit-graph. Deterministic for a
/// given seed.
/// </summary>
internal sealed class SyntheticRepository
{
    private const long StartTime = 1_700_000_000;
    private readonly string[] _paths;
    private readonly string[] _contents;
    private readonly string[] _words;
    private readonly Random _random;
    private long _time = StartTime;
    private int _commits;

    private SyntheticRepository(string bare, int files, int seed)
    {
        Bare = bare;
        _random = new Random(seed);
        _words = [.. Enumerable.Range(0, 800).Select(_ => Word()), "if", "else", "return", "var", "new", "public", "private", "static", "class", "void", "string", "int", "await", "async", "null", "true", "false", "=", "==", "+", "(", ")", "{", "}", ";", "=>"];
        _paths = new string[files];
        _contents = new string[files];
        for (var i = 0; i < files; i++)
        {
            // 50 files per directory, 20 directories per module: src/m00/p00/f00.cs … src/m19/p19/f49.cs for 20,000 files.
            _paths[i] = string.Create(CultureInfo.InvariantCulture, $"src/m{i / 1000:00}/p{i / 50 % 20:00}/f{i % 50:00}.cs");
            _contents[i] = NewFile();
        }
    }

    /// <summary>The bare repository (branch <c>main</c>).</summary>
    public string Bare { get; }

    public int Files => _paths.Length;

    public int Commits => _commits;

    /// <summary>Creates <paramref name="bare"/> with the whole history and packs it.</summary>
    public static async Task<SyntheticRepository> CreateAsync(string bare, int files, int commits, int seed, CancellationToken cancellationToken)
    {
        var repository = new SyntheticRepository(bare, files, seed);
        await GitAsync(null, cancellationToken, "init", "-q", "--bare", "-b", "main", bare);
        await repository.ImportAsync(commits, initial: true, cancellationToken);
        await GitAsync(bare, cancellationToken, "repack", "-a", "-d", "-f", "-b", "-q", "--window=10", "--depth=50");
        await GitAsync(bare, cancellationToken, "pack-refs", "--all");
        await GitAsync(bare, cancellationToken, "commit-graph", "write", "--reachable");
        return repository;
    }

    /// <summary>Adds commits on <c>main</c> (as other developers pushing would) and returns the new head.</summary>
    public async Task<string> PushUpstreamAsync(int commits, CancellationToken cancellationToken)
    {
        await ImportAsync(commits, initial: false, cancellationToken);
        return (await GitAsync(Bare, cancellationToken, "rev-parse", "refs/heads/main")).Trim();
    }

    private async Task ImportAsync(int commits, bool initial, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("git")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])["-C", Bare, "fast-import", "--quiet", "--date-format=raw"])
        {
            info.ArgumentList.Add(arg);
        }

        Isolate(info);

        using var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start git fast-import");
        await using var kill = cancellationToken.Register(() => process.Kill(entireProcessTree: true));
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await WriteStreamAsync(process.StandardInput.BaseStream, commits, initial);
        }
        catch (IOException) when (cancellationToken.IsCancellationRequested)
        {
            // fast-import was killed by the cancellation while we wrote to it.
            throw new OperationCanceledException(cancellationToken);
        }

        await process.WaitForExitAsync(cancellationToken);
        await stdout;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"git fast-import failed (exit {process.ExitCode}): {(await stderr).Trim()}");
        }
    }

    /// <summary>The fast-import commands of <paramref name="commits"/> commits on <c>main</c>.</summary>
    private async Task WriteStreamAsync(Stream stream, int commits, bool initial)
    {
        await using (var input = new StreamWriter(stream, new UTF8Encoding(false), 1 << 20) { NewLine = "\n" })
        {
            for (var c = 0; c < commits; c++)
            {
                var changed = initial && c == 0 ? Enumerable.Range(0, _paths.Length).ToList() : Edit();
                _commits++;
                _time += 600 + _random.Next(7200);
                var author = _random.Next(20);
                var message = initial && c == 0 ? "Initial import" : string.Create(CultureInfo.InvariantCulture, $"Change {_commits}: {Line(0).Trim()}");
                await input.WriteLineAsync("commit refs/heads/main");
                await input.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"author Dev {author} <dev{author}@example.com> {_time} +0000"));
                await input.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"committer Dev {author} <dev{author}@example.com> {_time} +0000"));
                await WriteDataAsync(input, message);
                if (!initial && c == 0)
                {
                    await input.WriteLineAsync("from refs/heads/main^0");
                }

                foreach (var file in changed)
                {
                    await input.WriteLineAsync("M 100644 inline " + _paths[file]);
                    await WriteDataAsync(input, _contents[file]);
                }

                await input.WriteLineAsync();
            }
        }
    }

    private static async Task WriteDataAsync(StreamWriter input, string text)
    {
        // Every character is ASCII, so the length in characters is the length in bytes.
        await input.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"data {text.Length}"));
        await input.WriteLineAsync(text);
    }

    /// <summary>Edits 1–8 files (replace, insert or delete a few lines each); returns their indexes.</summary>
    private List<int> Edit()
    {
        var changed = new HashSet<int>();
        var count = 1 + _random.Next(8);
        while (changed.Count < Math.Min(count, _paths.Length))
        {
            changed.Add(_random.Next(_paths.Length));
        }

        foreach (var file in changed)
        {
            var lines = _contents[file].TrimEnd('\n').Split('\n').ToList();
            var at = _random.Next(lines.Count);
            switch (_random.Next(3))
            {
                case 0:
                    for (var i = at; i < Math.Min(lines.Count, at + 1 + _random.Next(3)); i++)
                    {
                        lines[i] = Line(Indent(lines[i]));
                    }

                    break;
                case 1:
                    lines.InsertRange(at, Enumerable.Range(0, 1 + _random.Next(3)).Select(_ => Line(Indent(lines[at]))).ToList());
                    break;
                default:
                    if (lines.Count > 5)
                    {
                        lines.RemoveAt(at);
                    }
                    else
                    {
                        lines.Add(Line(0));
                    }

                    break;
            }

            _contents[file] = string.Join('\n', lines) + "\n";
        }

        return [.. changed];
    }

    private string NewFile()
    {
        var text = new StringBuilder();
        var depth = 0;
        var lines = 10 + _random.Next(71);
        for (var i = 0; i < lines; i++)
        {
            text.Append(Line(depth)).Append('\n');
            depth = Math.Clamp(depth + _random.Next(-1, 2), 0, 3);
        }

        return text.ToString();
    }

    private string Line(int depth)
    {
        var text = new StringBuilder(new string(' ', depth * 4));
        var words = 3 + _random.Next(7);
        for (var i = 0; i < words; i++)
        {
            text.Append(i == 0 ? "" : " ").Append(_words[_random.Next(_words.Length)]);
        }

        return text.Append(';').ToString();
    }

    private static int Indent(string line) => (line.Length - line.TrimStart(' ').Length) / 4;

    private string Word()
    {
        var length = 3 + _random.Next(8);
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = (char)('a' + _random.Next(26));
        }

        return new string(chars);
    }

    /// <summary>Runs git (outside the plugin, with this process's environment) and returns its stdout; throws on failure.</summary>
    internal static async Task<string> GitAsync(string? directory, CancellationToken cancellationToken, params string[] args)
    {
        var info = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (directory is not null)
        {
            info.ArgumentList.Add("-C");
            info.ArgumentList.Add(directory);
        }

        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        Isolate(info);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start git");
        await using var kill = cancellationToken.Register(() => process.Kill(entireProcessTree: true));
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return process.ExitCode == 0
            ? await stdout
            : throw new InvalidOperationException($"git {string.Join(' ', args)} failed (exit {process.ExitCode}): {(await stderr).Trim()}");
    }

    /// <summary>No system or global git config: the user's settings (pack options, hooks) must not change the repository.</summary>
    private static void Isolate(ProcessStartInfo info)
    {
        info.Environment["GIT_CONFIG_NOSYSTEM"] = "1";
        info.Environment["GIT_CONFIG_GLOBAL"] = "/dev/null";
    }
}
