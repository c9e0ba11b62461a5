using System.Threading.Channels;
using DevOrchestrator.Data;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Events;

/// <summary>
/// Tails the events table and fans new rows out to subscribers (WebSocket and SSE streams). It wakes at once when
/// events were committed (<see cref="EventSignal"/>: by this process, or on PostgreSQL by any process through
/// <see cref="EventNotificationListener"/>) and polls every <see cref="PollInterval"/> besides, so that events arrive
/// even when a notification is lost or the LISTEN connection is down. Ids that are skipped (a transaction that committed later than a
/// higher id) are re-checked for a while, so an event is delivered late rather than lost. While nobody subscribes it
/// reads nothing.
/// </summary>
public sealed partial class EventHub(IDbContextFactory<AppDbContext> dbContexts, EventSignal signal, TimeProvider timeProvider, ILogger<EventHub> logger) : BackgroundService
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan s_gapPatience = TimeSpan.FromSeconds(10);

    private readonly Lock _lock = new();
    private readonly List<Channel<TaskEvent>> _subscribers = [];
    private readonly Dictionary<long, DateTimeOffset> _gaps = [];
    private long _lastId = -1;
    private DateTimeOffset _startFrom = DateTimeOffset.MinValue;

    public ChannelReader<TaskEvent> Subscribe(CancellationToken unsubscribe)
    {
        var channel = Channel.CreateBounded<TaskEvent>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        lock (_lock)
        {
            if (_subscribers.Count == 0)
            {
                // The hub was idle (it reads nothing while nobody listens): start from what exists now.
                _startFrom = timeProvider.GetUtcNow();
                Volatile.Write(ref _lastId, -1);
            }

            _subscribers.Add(channel);
        }

        unsubscribe.Register(() =>
        {
            lock (_lock)
            {
                _subscribers.Remove(channel);
            }

            channel.Writer.TryComplete();
        });
        return channel.Reader;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            // Taken before reading: a commit announced while the read runs wakes the next round at once.
            var pulse = signal.Next;
            try
            {
                await TailOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogTailFailed(logger, ex);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ContinueWith(static _ => { }, TaskScheduler.Default);
            }

            await EventSignal.WaitAsync(pulse, PollInterval, timeProvider, stoppingToken);
        }
    }

    private async Task TailOnceAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset startFrom;
        lock (_lock)
        {
            if (_subscribers.Count == 0)
            {
                return;
            }

            startFrom = _startFrom;
        }

        await using var db = dbContexts.CreateDbContext();
        if (Volatile.Read(ref _lastId) < 0)
        {
            _gaps.Clear();
            _lastId = await db.Events.Where(e => e.CreatedAt < startFrom).MaxAsync(e => (long?)e.Id, cancellationToken) ?? 0;
        }

        var fresh = await db.Events.AsNoTracking().Where(e => e.Id > _lastId).OrderBy(e => e.Id).Take(1000).ToListAsync(cancellationToken);
        var now = timeProvider.GetUtcNow();
        List<TaskEvent> late = [];
        if (_gaps.Count > 0)
        {
            var gapIds = _gaps.Keys.ToList();
            late = await db.Events.AsNoTracking().Where(e => gapIds.Contains(e.Id)).ToListAsync(cancellationToken);
            foreach (var ev in late)
            {
                _gaps.Remove(ev.Id);
            }

            foreach (var expired in _gaps.Where(g => now - g.Value > s_gapPatience).Select(g => g.Key).ToList())
            {
                _gaps.Remove(expired);
            }
        }

        foreach (var ev in fresh)
        {
            for (var missing = _lastId + 1; missing < ev.Id && _gaps.Count < 10_000; missing++)
            {
                _gaps[missing] = now;
            }

            _lastId = ev.Id;
        }

        if (late.Count + fresh.Count == 0)
        {
            return;
        }

        Channel<TaskEvent>[] subscribers;
        lock (_lock)
        {
            subscribers = [.. _subscribers];
        }

        foreach (var ev in late.Concat(fresh))
        {
            foreach (var subscriber in subscribers)
            {
                subscriber.Writer.TryWrite(ev);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading new events failed; retrying")]
    private static partial void LogTailFailed(ILogger logger, Exception exception);
}
