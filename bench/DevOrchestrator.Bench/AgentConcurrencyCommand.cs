using System.CommandLine;
using System.Globalization;

namespace DevOrchestrator.Bench;

/// <summary><c>devorch-bench agent-concurrency</c>: many development agents at once in one process against a slow fake model.</summary>
internal static class AgentConcurrencyCommand
{
    public static Command Create()
    {
        var agents = new Option<int>("--agents") { Description = $"Agents run at once, 1..{ConcurrencyOptions.MaxAgents}", DefaultValueFactory = _ => 500 };
        var warmup = new Option<int>("--warmup") { Description = "Agents run (and not measured) before, 0..50", DefaultValueFactory = _ => 4 };
        var delayMs = new Option<int>("--delay-ms") { Description = "How long the fake model takes to answer each call, 0..60000 ms", DefaultValueFactory = _ => 1000 };
        var database = new Option<string>("--database") { Description = "sqlite (a new file, the embedded default) or postgresql (a new database on --postgres-admin-url, dropped at the end)", DefaultValueFactory = _ => "sqlite" };
        database.AcceptOnlyFromAmong("sqlite", "postgresql");
        var adminUrl = new Option<string>("--postgres-admin-url")
        {
            Description = "postgresql://user:pass@host:port/db of a role that may create databases (default DEVORCH_TEST_POSTGRES or postgresql://postgres:postgres@127.0.0.1:5432/postgres)",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DEVORCH_TEST_POSTGRES") is { Length: > 0 } url ? url : "postgresql://postgres:postgres@127.0.0.1:5432/postgres",
        };
        var workDir = new Option<string?>("--work-dir") { Description = "New or empty directory for the repository, worktrees and host (default: a new one under TMPDIR); deleted at the end" };
        var keep = new Option<bool>("--keep") { Description = "Keep --work-dir at the end" };
        var maxSeconds = new Option<double>("--max-seconds") { Description = "Give up after this many seconds (at most 600)", DefaultValueFactory = _ => 280 };
        var json = new Option<FileInfo?>("--json") { Description = "Append the result as one JSON line to this file" };
        var markdown = new Option<FileInfo?>("--markdown") { Description = "Append the report (markdown) to this file" };
        var command = new Command(
            "agent-concurrency",
            "Runs --agents development agents at once in this process (the real agent of a started host, over a real database), each on its own git worktree making 5 model calls of cheap tools, against a fake Anthropic server (a child process) that answers after --delay-ms. Reports throughput, wall time against the ideal, memory per agent and thread-pool health.")
        {
            agents, warmup, delayMs, database, adminUrl, workDir, keep, maxSeconds, json, markdown,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var problems = new List<string>();
            var count = parseResult.GetValue(agents);
            var warm = parseResult.GetValue(warmup);
            var delay = parseResult.GetValue(delayMs);
            var seconds = parseResult.GetValue(maxSeconds);
            if (count is < 1 or > ConcurrencyOptions.MaxAgents)
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"--agents must be between 1 and {ConcurrencyOptions.MaxAgents}."));
            }

            if (warm is < 0 or > 50)
            {
                problems.Add("--warmup must be between 0 and 50.");
            }

            if (delay is < 0 or > 60_000)
            {
                problems.Add("--delay-ms must be between 0 and 60000.");
            }

            if (seconds is <= 0 or > 600)
            {
                problems.Add("--max-seconds must be more than 0 and at most 600.");
            }

            var directory = problems.Count == 0 ? BenchDirectories.Create(parseResult.GetValue(workDir), "devorch-agent-concurrency") : null;
            if (problems.Count == 0 && directory is null)
            {
                problems.Add("--work-dir must be a new or empty directory.");
            }

            if (problems.Count > 0)
            {
                foreach (var problem in problems)
                {
                    await Console.Error.WriteLineAsync(problem);
                }

                return 2;
            }

            var options = new ConcurrencyOptions(count, warm, TimeSpan.FromMilliseconds(delay),
                parseResult.GetValue(database) == "postgresql" ? parseResult.GetValue(adminUrl) : null, directory!);
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(TimeSpan.FromSeconds(seconds));
            try
            {
                var report = await AgentConcurrencyBenchmark.RunAsync(options, Console.Error, limit.Token);
                var text = report.ToMarkdown();
                Console.WriteLine(text);
                await BenchDirectories.AppendAsync(parseResult.GetValue(markdown), text, CancellationToken.None);
                await BenchDirectories.AppendAsync(parseResult.GetValue(json), report.ToJson(), CancellationToken.None);
                return report.Finished == count ? 0 : 1;
            }
            catch (OperationCanceledException) when (limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync($"devorch-bench: agent-concurrency gave up after --max-seconds {seconds}");
                return 1;
            }
            finally
            {
                if (!parseResult.GetValue(keep))
                {
                    BenchDirectories.Delete(directory!);
                }
            }
        });
        return command;
    }
}
