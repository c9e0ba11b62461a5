using System.Collections.Concurrent;

namespace DevOrchestrator.Hosting;

/// <summary>
/// The in-process request counters: one count per partition (user or client IP) for the current fixed window. Counts of
/// earlier windows are dropped when a new window starts, so memory holds the partitions seen in one window.
/// </summary>
internal sealed class ApiRateLimitWindows
{
    private readonly ConcurrentDictionary<string, Counter> _counters = new(StringComparer.Ordinal);
    private long _window = long.MinValue;

    /// <summary>Counts one request of <paramref name="partition"/> in <paramref name="window"/> and returns the count so far.</summary>
    public long Increment(string partition, long window)
    {
        if (Volatile.Read(ref _window) != window)
        {
            StartWindow(window);
        }

        var counter = _counters.GetOrAdd(partition, static (_, w) => new Counter(w), window);
        if (counter.Window != window)
        {
            // A request that raced the start of the window took a stale counter: replace it once.
            counter = _counters.AddOrUpdate(partition, static (_, w) => new Counter(w), static (_, old, w) => old.Window == w ? old : new Counter(w), window);
        }

        return Interlocked.Increment(ref counter.Count);
    }

    private void StartWindow(long window)
    {
        var previous = Interlocked.Exchange(ref _window, window);
        if (previous == window)
        {
            return;
        }

        foreach (var (key, counter) in _counters)
        {
            if (counter.Window < window)
            {
                _counters.TryRemove(new KeyValuePair<string, Counter>(key, counter));
            }
        }
    }

    private sealed class Counter(long window)
    {
        public readonly long Window = window;
        public long Count;
    }
}
