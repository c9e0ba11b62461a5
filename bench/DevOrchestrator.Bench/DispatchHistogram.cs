using System.Globalization;

namespace DevOrchestrator.Bench;

/// <summary>
/// The server's own <c>task_dispatch_seconds</c> Prometheus histogram, read from <c>/metrics</c>. Two scrapes are
/// subtracted so that only the tasks of this run count; percentiles are bucket upper bounds (buckets double from 0.5 ms).
/// </summary>
internal sealed record DispatchHistogram(IReadOnlyList<(double UpperBound, double Count)> Buckets, double Sum, double Count)
{
    private const string Name = "task_dispatch_seconds";

    public static DispatchHistogram Parse(string metrics)
    {
        var buckets = new List<(double, double)>();
        double sum = 0, count = 0;
        foreach (var raw in metrics.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith(Name + "_bucket{le=\"", StringComparison.Ordinal))
            {
                var start = Name.Length + "_bucket{le=\"".Length;
                var end = line.IndexOf('"', start);
                var bound = line[start..end] == "+Inf" ? double.PositiveInfinity : double.Parse(line[start..end], CultureInfo.InvariantCulture);
                buckets.Add((bound, ParseValue(line)));
            }
            else if (line.StartsWith(Name + "_sum ", StringComparison.Ordinal))
            {
                sum = ParseValue(line);
            }
            else if (line.StartsWith(Name + "_count ", StringComparison.Ordinal))
            {
                count = ParseValue(line);
            }
        }

        return new DispatchHistogram(buckets, sum, count);
    }

    public DispatchHistogram Minus(DispatchHistogram earlier)
    {
        var before = earlier.Buckets.ToDictionary(b => b.UpperBound, b => b.Count);
        return new DispatchHistogram(
            Buckets.Select(b => (b.UpperBound, b.Count - before.GetValueOrDefault(b.UpperBound))).ToList(),
            Sum - earlier.Sum,
            Count - earlier.Count);
    }

    /// <summary>The smallest bucket bound that holds at least <paramref name="quantile"/> of the observations, in ms.</summary>
    public double UpperBoundMs(double quantile)
    {
        foreach (var (bound, cumulative) in Buckets.OrderBy(b => b.UpperBound))
        {
            if (cumulative >= quantile * Count)
            {
                return bound * 1000;
            }
        }

        return double.NaN;
    }

    public string Describe() => Count <= 0
        ? "server histogram task_dispatch_seconds: no observations"
        : string.Create(CultureInfo.InvariantCulture,
            $"server histogram task_dispatch_seconds (queued_at → claimed and read back): n={Count:0}, mean={Sum / Count * 1000:0.00} ms, p50 ≤ {UpperBoundMs(0.5):0.###} ms, p90 ≤ {UpperBoundMs(0.9):0.###} ms, p99 ≤ {UpperBoundMs(0.99):0.###} ms");

    private static double ParseValue(string line) =>
        double.Parse(line[(line.LastIndexOf(' ') + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture);
}
