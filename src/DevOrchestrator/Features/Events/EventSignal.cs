namespace DevOrchestrator.Features.Events;

/// <summary>
/// Pulses whenever events were committed — in this process (<see cref="EventSignalInterceptor"/>) or, on PostgreSQL, in
/// any process (<see cref="EventNotificationListener"/>) — so streams need not wait for their next poll.
/// </summary>
public sealed class EventSignal
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// The next pulse. Take it <em>before</em> reading the events table: a pulse that comes while reading completes it,
    /// so the commit it announces is not left for the next poll.
    /// </summary>
    public Task Next => Volatile.Read(ref _next).Task;

    public Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => WaitAsync(Next, timeout, TimeProvider.System, cancellationToken);

    /// <summary>Waits for <paramref name="pulse"/> (from <see cref="Next"/>) at most <paramref name="timeout"/> on <paramref name="clock"/>; never throws.</summary>
    public static Task WaitAsync(Task pulse, TimeSpan timeout, TimeProvider clock, CancellationToken cancellationToken) =>
        pulse.WaitAsync(timeout, clock, cancellationToken).ContinueWith(static _ => { }, TaskScheduler.Default);

    public void Pulse()
    {
        var previous = Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        previous.TrySetResult();
    }
}
