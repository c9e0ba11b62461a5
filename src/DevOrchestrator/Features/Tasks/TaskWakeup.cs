namespace DevOrchestrator.Features.Tasks;

/// <summary>
/// Wakes this process's <see cref="TaskDispatcher"/>: pulsed after a commit that queued a task in this process, when a
/// run ends (a slot is free), and by <see cref="TaskNotificationListener"/> when another process queued one. A pulse is
/// only a hint: the dispatcher also polls, so a lost pulse costs at most one poll interval.
/// </summary>
public sealed class TaskWakeup
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// The wait for the next pulse. Take it <em>before</em> looking for work: a pulse that comes while the dispatcher
    /// looks completes this wait, so it is not missed.
    /// </summary>
    public Task Next => Volatile.Read(ref _next).Task;

    public void Pulse()
    {
        var previous = Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        previous.TrySetResult();
    }
}
