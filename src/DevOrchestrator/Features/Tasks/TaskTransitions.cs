using DevOrchestrator.Data;

namespace DevOrchestrator.Features.Tasks;

/// <summary>
/// The one state machine of a task's life: every status change goes through <see cref="Check"/>, and every change is
/// announced by one <see cref="TaskStatusUpdate"/> event. The table is documented in docs/architecture.md.
/// </summary>
public static class TaskTransitions
{
    /// <summary>Who or what causes a transition.</summary>
    public enum Cause
    {
        /// <summary>An entry point created the task (API, plan, intake, CLI).</summary>
        Created,

        /// <summary>A user or an intake asked for it to run (assign-to-agent, workflows/execute, auto_start, feedback).</summary>
        Queued,

        /// <summary>A worker claimed it (queued, or running with an expired lease: its worker died).</summary>
        Claimed,

        /// <summary>A worker that shuts down, or met a transient database error, hands it back to the queue.</summary>
        HandedBack,

        /// <summary>The workflow run ended.</summary>
        Finished,

        /// <summary>A user (or the CLI) cancelled it before a worker took it, or after its worker died.</summary>
        Cancelled,
    }

    private static readonly HashSet<(string? From, string To, Cause Cause)> s_allowed =
    [
        (null, TaskStatuses.Pending, Cause.Created),
        (null, TaskStatuses.Queued, Cause.Created),
        (TaskStatuses.Pending, TaskStatuses.Queued, Cause.Queued),
        (TaskStatuses.Completed, TaskStatuses.Queued, Cause.Queued),
        (TaskStatuses.Failed, TaskStatuses.Queued, Cause.Queued),
        (TaskStatuses.Cancelled, TaskStatuses.Queued, Cause.Queued),
        (TaskStatuses.BudgetExceeded, TaskStatuses.Queued, Cause.Queued),
        (TaskStatuses.Queued, TaskStatuses.Running, Cause.Claimed),
        (TaskStatuses.Running, TaskStatuses.Running, Cause.Claimed),
        (TaskStatuses.Running, TaskStatuses.Queued, Cause.HandedBack),
        (TaskStatuses.Running, TaskStatuses.Completed, Cause.Finished),
        (TaskStatuses.Running, TaskStatuses.Failed, Cause.Finished),
        (TaskStatuses.Running, TaskStatuses.Cancelled, Cause.Finished),
        (TaskStatuses.Running, TaskStatuses.BudgetExceeded, Cause.Finished),
        (TaskStatuses.Pending, TaskStatuses.Cancelled, Cause.Cancelled),
        (TaskStatuses.Queued, TaskStatuses.Cancelled, Cause.Cancelled),
        (TaskStatuses.Running, TaskStatuses.Cancelled, Cause.Cancelled),
    ];

    /// <summary>Every allowed transition (for the documentation and the tests).</summary>
    public static IReadOnlyCollection<(string? From, string To, Cause Cause)> Allowed => s_allowed;

    public static bool IsAllowed(string? from, string to, Cause cause) => s_allowed.Contains((from, to, cause));

    /// <summary>Throws when the transition is not in the table: a bug, never a user error.</summary>
    public static void Check(string? from, string to, Cause cause)
    {
        if (!IsAllowed(from, to, cause))
        {
            throw new InvalidOperationException($"A task cannot go from {from ?? "(new)"} to {to} ({cause}).");
        }
    }
}
