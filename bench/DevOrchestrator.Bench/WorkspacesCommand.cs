using System.CommandLine;

namespace DevOrchestrator.Bench;

/// <summary><c>devorch-bench workspaces</c>: workspace preparation (cached mirror + worktree) against fresh clones.</summary>
internal static class WorkspacesCommand
{
    public static Command Create()
    {
        var files = new Option<int>("--files") { Description = $"Files in the generated repository, 1..{WorkspacesOptions.MaxFiles}", DefaultValueFactory = _ => 20_000 };
        var commits = new Option<int>("--commits") { Description = $"Commits of its history (the first adds every file, each later one edits 1-8), 1..{WorkspacesOptions.MaxCommits}", DefaultValueFactory = _ => 3_000 };
        var repeat = new Option<int>("--repeat") { Description = $"Repetitions of each approach, 1..{WorkspacesOptions.MaxRepeat}", DefaultValueFactory = _ => 10 };
        var seed = new Option<int>("--seed") { Description = "Seed of the generated contents (same seed, same repository)", DefaultValueFactory = _ => 42 };
        var workDir = new Option<string?>("--work-dir") { Description = "Empty or new directory for the repository, mirror and clones (default: a new one under TMPDIR); deleted at the end" };
        var keep = new Option<bool>("--keep") { Description = "Keep --work-dir at the end" };
        var maxSeconds = new Option<double>("--max-seconds") { Description = $"Give up (killing git) after this many seconds, at most {WorkspacesOptions.MaxMaxSeconds}", DefaultValueFactory = _ => 600 };
        var approaches = new Option<string>("--approaches")
        {
            Description = $"Comma-separated subset of {string.Join(",", WorkspacesOptions.AllApproaches)} (worktree and clone_file always)",
            DefaultValueFactory = _ => string.Join(",", WorkspacesOptions.AllApproaches),
        };
        var json = new Option<FileInfo?>("--json") { Description = "Append the result as one JSON line to this file" };
        var markdown = new Option<FileInfo?>("--markdown") { Description = "Append the report (markdown) to this file" };

        var command = new Command(
            "workspaces",
            "Workspace preparation on a generated repository: the workspace plugin's prepare from a cached mirror (a second task) against a fresh git clone per task (file://, --local, --depth 1). Median and p90 of each, and the disk each workspace adds.")
        {
            files, commits, repeat, seed, workDir, keep, maxSeconds, approaches, json, markdown,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var options = new WorkspacesOptions(
                parseResult.GetValue(files),
                parseResult.GetValue(commits),
                parseResult.GetValue(repeat),
                parseResult.GetValue(seed),
                parseResult.GetValue(workDir),
                parseResult.GetValue(keep),
                parseResult.GetValue(maxSeconds),
                [.. parseResult.GetValue(approaches)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]);
            var problems = options.Validate();
            if (problems.Count > 0)
            {
                foreach (var problem in problems)
                {
                    await Console.Error.WriteLineAsync(problem);
                }

                return 2;
            }

            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(TimeSpan.FromSeconds(options.MaxSeconds));
            WorkspacesReport report;
            try
            {
                report = await WorkspacesBenchmark.RunAsync(options, Console.Error, limit.Token);
            }
            catch (OperationCanceledException) when (limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync($"devorch-bench: workspaces gave up after --max-seconds {options.MaxSeconds}");
                return 1;
            }

            var text = report.ToMarkdown();
            Console.WriteLine(text);
            if (parseResult.GetValue(markdown) is { } markdownFile)
            {
                await File.AppendAllTextAsync(markdownFile.FullName, text + Environment.NewLine, cancellationToken);
            }

            if (parseResult.GetValue(json) is { } jsonFile)
            {
                await File.AppendAllTextAsync(jsonFile.FullName, report.ToJson() + Environment.NewLine, cancellationToken);
            }

            return report.Complete ? 0 : 1;
        });
        return command;
    }
}
