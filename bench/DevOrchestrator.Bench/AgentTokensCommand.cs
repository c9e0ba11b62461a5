using System.CommandLine;

namespace DevOrchestrator.Bench;

/// <summary><c>devorch-bench agent-tokens</c>: billed input tokens of the development agent against a naive full resend.</summary>
internal static class AgentTokensCommand
{
    public static Command Create()
    {
        var workDir = new Option<string?>("--work-dir") { Description = "New or empty directory for the repositories and hosts (default: a new one under TMPDIR); deleted at the end" };
        var keep = new Option<bool>("--keep") { Description = "Keep --work-dir at the end" };
        var maxSeconds = new Option<double>("--max-seconds") { Description = "Give up after this many seconds (at most 600)", DefaultValueFactory = _ => 300 };
        var json = new Option<FileInfo?>("--json") { Description = "Append the result as one JSON line to this file" };
        var markdown = new Option<FileInfo?>("--markdown") { Description = "Append the report (markdown) to this file" };
        var command = new Command(
            "agent-tokens",
            "The real development agent runs one fixed 30-call trajectory against the fake Anthropic server (prompt-cache emulation), with caching, output cutting and condensing, and without (a naive full resend), plus the two halves. Reports input + 1.25 x cache write + 0.1 x cache read per variant.")
        {
            workDir, keep, maxSeconds, json, markdown,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var seconds = parseResult.GetValue(maxSeconds);
            if (seconds is <= 0 or > 600)
            {
                await Console.Error.WriteLineAsync("--max-seconds must be more than 0 and at most 600.");
                return 2;
            }

            var directory = BenchDirectories.Create(parseResult.GetValue(workDir), "devorch-agent-tokens");
            if (directory is null)
            {
                await Console.Error.WriteLineAsync("--work-dir must be a new or empty directory.");
                return 2;
            }

            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(TimeSpan.FromSeconds(seconds));
            try
            {
                var report = await AgentTokensBenchmark.RunAsync(directory, Console.Error, limit.Token);
                var text = report.ToMarkdown();
                Console.WriteLine(text);
                await BenchDirectories.AppendAsync(parseResult.GetValue(markdown), text, cancellationToken);
                await BenchDirectories.AppendAsync(parseResult.GetValue(json), report.ToJson(), cancellationToken);
                return report.Valid ? 0 : 1;
            }
            catch (OperationCanceledException) when (limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync($"devorch-bench: agent-tokens gave up after --max-seconds {seconds}");
                return 1;
            }
            finally
            {
                if (!parseResult.GetValue(keep))
                {
                    BenchDirectories.Delete(directory);
                }
            }
        });
        return command;
    }
}

/// <summary>Work directories and result files of the in-process benchmarks.</summary>
internal static class BenchDirectories
{
    /// <summary>The directory to work in: <paramref name="requested"/> when new or empty, else null; a new temporary one when not given.</summary>
    public static string? Create(string? requested, string prefix)
    {
        if (requested is null)
        {
            return Directory.CreateTempSubdirectory(prefix + "-").FullName;
        }

        var full = Path.GetFullPath(requested);
        if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any())
        {
            return null;
        }

        Directory.CreateDirectory(full);
        return full;
    }

    public static async Task AppendAsync(FileInfo? file, string text, CancellationToken cancellationToken)
    {
        if (file is not null)
        {
            await File.AppendAllTextAsync(file.FullName, text + Environment.NewLine, cancellationToken);
        }
    }

    public static void Delete(string directory)
    {
        try
        {
            // git marks its objects read-only; deleting works anyway on Linux (the directory is writable).
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine($"devorch-bench: could not delete {directory}: {ex.Message}");
        }
        catch (UnauthorizedAccessException ex)
        {
            Console.Error.WriteLine($"devorch-bench: could not delete {directory}: {ex.Message}");
        }
    }
}
