using DevOrchestrator.Data;
using DevOrchestrator.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Tasks;

/// <summary>
/// The per-user limit on agent operations (<c>API_MAX_ACTIVE_AGENT_TASKS_PER_USER</c>): the queued and running tasks a
/// user created. <see cref="TaskLifecycle"/> checks it inside the transaction that queues a task; on PostgreSQL that
/// transaction first takes a per-user advisory lock, so two replicas queueing for one user at once take turns and the
/// limit is exact (SQLite's write transaction is one at a time anyway). docs/api.md, "Rate limits".
/// </summary>
public sealed class ActiveAgentTasks(IOptions<ApiRateLimitOptions> options)
{
    /// <summary>The advisory lock class of this limit (the second key is the user id).</summary>
    private const int LockClass = 0x44414154; // "DAAT"

    public int Limit => options.Value.MaxActiveAgentTasksPerUser;

    /// <summary>
    /// Throws <see cref="ActiveAgentTaskLimitException"/> when <paramref name="userId"/> has no room for
    /// <paramref name="adding"/> more active tasks. Call inside the transaction that queues them.
    /// </summary>
    public async Task CheckInTransactionAsync(AppDbContext db, long? userId, int adding)
    {
        if (Limit == 0 || userId is not { } id || adding == 0)
        {
            return;
        }

        if (db is PostgresAppDbContext)
        {
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({LockClass}, {unchecked((int)id)})", CancellationToken.None);
        }

        var active = await CountAsync(db, id, CancellationToken.None);
        if (active + adding > Limit)
        {
            throw new ActiveAgentTaskLimitException(id, Limit, active);
        }
    }

    /// <summary>A check before costly work that would queue tasks (a plan's model call): throws when the user has no room at all.</summary>
    public async Task CheckRoomAsync(AppDbContext db, long? userId, CancellationToken cancellationToken)
    {
        if (Limit == 0 || userId is not { } id)
        {
            return;
        }

        var active = await CountAsync(db, id, cancellationToken);
        if (active >= Limit)
        {
            throw new ActiveAgentTaskLimitException(id, Limit, active);
        }
    }

    private static Task<long> CountAsync(AppDbContext db, long userId, CancellationToken cancellationToken) =>
        db.Tasks.LongCountAsync(t => t.CreatedByUserId == userId && (t.Status == TaskStatuses.Queued || t.Status == TaskStatuses.Running), cancellationToken);
}
