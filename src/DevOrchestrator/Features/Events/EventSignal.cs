namespace DevOrchestrator.Features.Events;

/// <summary>Pulses whenever events were committed in this process, so streams need not wait for their next poll.</summary>
public sealed class EventSignal
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        Volatile.Read(ref _next).Task.WaitAsync(timeout, cancellationToken).ContinueWith(static _ => { }, TaskScheduler.Default);

    public void Pulse()
    {
        var previous = Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        previous.TrySetResult();
    }
}
