using System.Diagnostics;
using System.Globalization;

namespace DevOrchestrator.Bench;

/// <summary>
/// Dispatch latency: tasks are created with auto_start at a steady <c>--rate</c> (open loop, at most
/// <c>--concurrency</c> requests in flight), then each task is read back and the server's own timestamps are compared:
/// <c>queued_at</c> (set when the API queued it) against <c>started_at</c> (set when a worker claimed it) and the first
/// step's <c>started_at</c> when the workflow ran a step.
/// </summary>
internal static class DispatchBenchmark
{
    private const int ReadParallelism = 4;

    public static async Task<BenchResult> RunAsync(DevorchClient client, TaskTemplate template, BenchOptions options, CancellationToken cancellationToken)
    {
        var histogramBefore = DispatchHistogram.Parse(await client.GetMetricsAsync(options.MetricsUri, cancellationToken));
        var cpu = new CpuMeter(options.ServerPid);
        var (created, span) = await CreatePacedAsync(client, template, options, cancellationToken);
        var createErrors = created.Where(c => !c.Created).GroupBy(c => c.Error ?? "unknown").ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var ids = created.Where(c => c.Created).ToList();
        var times = await ReadBackAsync(client, ids.Select(c => c.Id!.Value).ToList(), TimeSpan.FromSeconds(options.WaitSeconds), cancellationToken);
        var histogram = DispatchHistogram.Parse(await client.GetMetricsAsync(options.MetricsUri, cancellationToken)).Minus(histogramBefore);

        var settled = ids.Where(c => times.TryGetValue(c.Id!.Value, out var t) && t.StartedAt is not null)
            .Select(c => (Create: c, Times: times[c.Id!.Value])).ToList();
        var notStarted = ids.Count - settled.Count;
        var errorKinds = new Dictionary<string, int>(createErrors, StringComparer.Ordinal);
        if (notStarted > 0)
        {
            errorKinds[$"not started within {options.WaitSeconds:0} s"] = notStarted;
        }

        var rows = new List<ResultRow>
        {
            new("queued_at → started_at (server clock)", Distribution.Of(settled.Select(s => Ms(s.Times.StartedAt!.Value - s.Times.QueuedAt!.Value)))),
            new("queued_at → first step started_at", Distribution.Of(settled.Where(s => s.Times.FirstStepStartedAt is not null)
                .Select(s => Ms(s.Times.FirstStepStartedAt!.Value - s.Times.QueuedAt!.Value)))),
            new("request sent → started_at (host clock)", Distribution.Of(settled.Select(s => Ms(s.Times.StartedAt!.Value - s.Create.SentAt)))),
            new("started_at → completed_at (the run)", Distribution.Of(settled.Where(s => s.Times.CompletedAt is not null)
                .Select(s => Ms(s.Times.CompletedAt!.Value - s.Times.StartedAt!.Value)))),
            new("POST /api/v1/tasks (client latency)", Distribution.Of(ids.Select(c => c.Elapsed.TotalMilliseconds)), ids.Count / span.TotalSeconds),
        };

        // Was each task alone? Count those queued before the previous one (in queue order) had been started.
        var ordered = settled.OrderBy(s => s.Times.QueuedAt).ToList();
        var overlapping = ordered.Skip(1).Where((s, i) => s.Times.QueuedAt < ordered[i].Times.StartedAt).Count();
        var steps = settled.Count(s => s.Times.Steps > 0);
        var notes = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"{steps} of {settled.Count} tasks ran at least one workflow step; {overlapping} were queued while the previous task was still waiting for a worker."),
            histogram.Describe(),
        };
        var parameters = new Dictionary<string, string>
        {
            ["tasks"] = created.Count.ToString(CultureInfo.InvariantCulture),
            ["rate"] = options.Rate > 0 ? options.Rate.ToString("0.#", CultureInfo.InvariantCulture) + "/s" : "unpaced",
            ["concurrency"] = options.Concurrency.ToString(CultureInfo.InvariantCulture),
            ["workflow"] = template.Workflow ?? "(server default)",
        };
        cpu.Describe(parameters, notes, created.Count);
        return new BenchResult(options.Name, "dispatch", parameters, rows, createErrors.Values.Sum() + notStarted, errorKinds, notes);
    }

    /// <summary>Starts create request i at <c>i / rate</c> seconds (open loop), keeping at most --concurrency in flight.</summary>
    private static async Task<(List<CreateOutcome> Outcomes, TimeSpan Span)> CreatePacedAsync(DevorchClient client, TaskTemplate template, BenchOptions options, CancellationToken cancellationToken)
    {
        using var inFlight = new SemaphoreSlim(options.Concurrency);
        var outcomes = new CreateOutcome[options.Count];
        var sends = new List<Task>(options.Count);
        var started = Stopwatch.GetTimestamp();
        var stopAt = options.SendLimit;
        var sent = 0;
        for (var i = 0; i < options.Count; i++)
        {
            if (options.Rate > 0)
            {
                var due = TimeSpan.FromSeconds(i / options.Rate) - Stopwatch.GetElapsedTime(started);
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due, cancellationToken);
                }
            }

            if (Stopwatch.GetElapsedTime(started) >= stopAt)
            {
                break;
            }

            await inFlight.WaitAsync(cancellationToken);
            var index = i;
            sends.Add(Task.Run(async () =>
            {
                try
                {
                    outcomes[index] = await client.CreateTaskAsync(template.Body($"dispatch task {index}", autoStart: true), cancellationToken);
                }
                finally
                {
                    inFlight.Release();
                }
            }, cancellationToken));
            sent++;
        }

        await Task.WhenAll(sends);
        return (outcomes.Take(sent).ToList(), Stopwatch.GetElapsedTime(started));
    }

    /// <summary>Reads every task until it has started its first step or finished, or until <paramref name="wait"/> is over.</summary>
    private static async Task<Dictionary<long, TaskTimes>> ReadBackAsync(DevorchClient client, List<long> ids, TimeSpan wait, CancellationToken cancellationToken)
    {
        var results = new Dictionary<long, TaskTimes>();
        var pending = ids;
        var deadline = Stopwatch.GetTimestamp() + (long)(wait.TotalSeconds * Stopwatch.Frequency);
        while (pending.Count > 0)
        {
            var round = new TaskTimes[pending.Count];
            await Parallel.ForAsync(0, pending.Count, new ParallelOptions { MaxDegreeOfParallelism = ReadParallelism, CancellationToken = cancellationToken },
                async (i, ct) => round[i] = await client.GetTaskAsync(pending[i], ct));
            var next = new List<long>();
            for (var i = 0; i < pending.Count; i++)
            {
                results[pending[i]] = round[i];
                if (!round[i].IsSettled)
                {
                    next.Add(pending[i]);
                }
            }

            pending = next;
            if (pending.Count == 0 || Stopwatch.GetTimestamp() > deadline)
            {
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }

        return results;
    }

    private static double Ms(TimeSpan span) => span.TotalMilliseconds;
}
