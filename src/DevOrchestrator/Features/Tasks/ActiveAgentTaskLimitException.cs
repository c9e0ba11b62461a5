namespace DevOrchestrator.Features.Tasks;

/// <summary>
/// Queueing would give the user more queued or running tasks than <c>API_MAX_ACTIVE_AGENT_TASKS_PER_USER</c> allows;
/// nothing was stored. The API answers 429 (<see cref="Hosting.ApiExceptionHandler"/>).
/// </summary>
public sealed class ActiveAgentTaskLimitException(long userId, int limit, long active)
    : Exception($"User {userId} already has {active} queued or running task(s); at most {limit} may be active at once (API_MAX_ACTIVE_AGENT_TASKS_PER_USER). " +
        "Wait for some to finish or cancel some, then retry.")
{
    public long UserId { get; } = userId;
    public int Limit { get; } = limit;
    public long Active { get; } = active;
}
