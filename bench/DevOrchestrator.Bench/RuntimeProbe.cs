using System.Diagnostics;
using System.Globalization;

namespace DevOrchestrator.Bench;

/// <summary>One sample of this process's runtime state.</summary>
internal sealed record RuntimeSample(
    double Seconds, int PoolThreads, long PendingWorkItems, int OsThreads, long HeapBytes, long HeapAfterLastGcBytes, long WorkingSetBytes,
    long Counter1, long Counter2);

/// <summary>
/// Watches this process while a benchmark runs. Event-loop health: a loop on the thread pool awaits
/// <c>Task.Delay(100 ms)</c> again and again and records how late each wake-up is (a starved pool runs the
/// continuation late). State: a dedicated thread (not the pool, so it keeps sampling when the pool is starved) samples
/// every 100 ms the pool's threads and queued work items, the OS threads, the GC heap (now, and live after the last
/// GC) and the working set, with two counters of the caller.
/// </summary>
internal sealed class RuntimeProbe
{
    private static readonly TimeSpan s_period = TimeSpan.FromMilliseconds(100);
    private readonly List<(double Seconds, double LagMs)> _lags = [];
    private readonly List<RuntimeSample> _samples = [];
    private readonly Func<long> _counter1;
    private readonly Func<long> _counter2;
    private readonly long _start = Stopwatch.GetTimestamp();
    private volatile bool _stopping;
    private Task? _lagLoop;
    private Thread? _sampler;

    public RuntimeProbe(Func<long> counter1, Func<long> counter2)
    {
        _counter1 = counter1;
        _counter2 = counter2;
    }

    /// <summary>When each wake-up happened (seconds since <see cref="Start"/>) and how late it was.</summary>
    public IReadOnlyList<(double Seconds, double LagMs)> Lags => _lags;

    /// <summary>Seconds since the probe was made.</summary>
    public double Now => Stopwatch.GetElapsedTime(_start).TotalSeconds;

    public IReadOnlyList<RuntimeSample> Samples => _samples;

    public void Start()
    {
        _lagLoop = Task.Run(async () =>
        {
            while (!_stopping)
            {
                var before = Stopwatch.GetTimestamp();
                await Task.Delay(s_period);
                var lag = Stopwatch.GetElapsedTime(before).TotalMilliseconds - s_period.TotalMilliseconds;
                lock (_lags)
                {
                    _lags.Add((Now, Math.Max(0, lag)));
                }
            }
        });
        _sampler = new Thread(() =>
        {
            while (!_stopping)
            {
                var info = GC.GetGCMemoryInfo(GCKind.Any);
                long after = 0;
                foreach (var generation in info.GenerationInfo)
                {
                    after += generation.SizeAfterBytes;
                }

                lock (_samples)
                {
                    _samples.Add(new RuntimeSample(
                        Stopwatch.GetElapsedTime(_start).TotalSeconds, ThreadPool.ThreadCount, ThreadPool.PendingWorkItemCount, OsThreads(),
                        GC.GetTotalMemory(false), after, Environment.WorkingSet, _counter1(), _counter2()));
                }

                Thread.Sleep(s_period);
            }
        })
        {
            IsBackground = true,
            Name = "bench-sampler",
        };
        _sampler.Start();
    }

    public async Task StopAsync()
    {
        _stopping = true;
        if (_lagLoop is not null)
        {
            await _lagLoop;
        }

        _sampler?.Join();
    }

    /// <summary>Threads of this process (/proc/self/status), or the pool's count where that is not available.</summary>
    public static int OsThreads()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("Threads:", StringComparison.Ordinal))
                {
                    return int.Parse(line.AsSpan(8).Trim(), CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }

        return ThreadPool.ThreadCount;
    }

    /// <summary>CPU seconds of this process's children that have been waited for (git, the sandbox), from /proc/self/stat.</summary>
    public static double? ChildrenCpuSeconds()
    {
        try
        {
            var stat = File.ReadAllText("/proc/self/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');

            // After the command: state is field 3, so cutime (16) and cstime (17) are at 13 and 14.
            var ticks = long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
            return ticks / 100.0;
        }
        catch (Exception ex) when (ex is IOException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
