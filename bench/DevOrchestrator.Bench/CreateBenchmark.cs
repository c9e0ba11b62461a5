using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace DevOrchestrator.Bench;

/// <summary>
/// Closed-loop load on <c>POST /api/v1/tasks</c>: <c>--concurrency</c> senders, each sending its next request as soon as
/// the previous one is answered, until <c>--count</c> requests were sent or <c>--duration</c> has passed.
/// </summary>
internal static class CreateBenchmark
{
    public static async Task WarmUpAsync(DevorchClient client, TaskTemplate template, BenchOptions options, CancellationToken cancellationToken)
    {
        var run = await SendAsync(client, template, options with { Count = options.Warmup, DurationSeconds = null }, "warmup", cancellationToken);
        await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"devorch-bench: warmed up with {run.Latencies.Count} requests in {run.Elapsed.TotalSeconds:0.0} s ({run.Errors.Values.Sum()} errors)"));
    }

    public static async Task<BenchResult> RunAsync(DevorchClient client, TaskTemplate template, BenchOptions options, CancellationToken cancellationToken)
    {
        var cpu = new CpuMeter(options.ServerPid);
        var run = await SendAsync(client, template, options, "bench", cancellationToken);
        var errors = run.Errors.Values.Sum();
        var ok = run.Latencies.Count;
        var parameters = new Dictionary<string, string>
        {
            ["requests"] = (ok + errors).ToString(CultureInfo.InvariantCulture),
            ["concurrency"] = options.Concurrency.ToString(CultureInfo.InvariantCulture),
            ["auto_start"] = options.AutoStart ? "true" : "false",
            ["workflow"] = template.Workflow ?? "(server default)",
            ["elapsed_s"] = run.Elapsed.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture),
        };
        var notes = new List<string> { "throughput = 201 responses / wall time of the run; latency = request written → response read, measured by the client." };
        cpu.Describe(parameters, notes, ok + errors);
        return new BenchResult(
            options.Name,
            "create",
            parameters,
            [new ResultRow("POST /api/v1/tasks → 201 (client latency)", Distribution.Of(run.Latencies), ok / run.Elapsed.TotalSeconds)],
            errors,
            run.Errors,
            notes);
    }

    private sealed record Run(IReadOnlyList<double> Latencies, IReadOnlyDictionary<string, int> Errors, TimeSpan Elapsed);

    private static async Task<Run> SendAsync(DevorchClient client, TaskTemplate template, BenchOptions options, string prefix, CancellationToken cancellationToken)
    {
        var next = -1;
        var errors = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var perSender = new List<double>[options.Concurrency];
        var stopAt = Stopwatch.GetTimestamp() + (long)(options.SendLimit.TotalSeconds * Stopwatch.Frequency);
        var started = Stopwatch.GetTimestamp();
        var senders = Enumerable.Range(0, options.Concurrency).Select(async sender =>
        {
            var latencies = perSender[sender] = new List<double>(options.Count / options.Concurrency + 1);
            int i;
            while ((i = Interlocked.Increment(ref next)) < options.Count && Stopwatch.GetTimestamp() < stopAt)
            {
                var outcome = await client.CreateTaskAsync(template.Body($"{prefix} task {i}", options.AutoStart), cancellationToken);
                if (outcome.Created)
                {
                    latencies.Add(outcome.Elapsed.TotalMilliseconds);
                }
                else
                {
                    errors.AddOrUpdate(outcome.Error ?? "unknown", 1, (_, n) => n + 1);
                }
            }
        }).ToList();
        await Task.WhenAll(senders);
        var elapsed = Stopwatch.GetElapsedTime(started);
        return new Run(perSender.SelectMany(l => l).ToList(), new Dictionary<string, int>(errors), elapsed);
    }
}
