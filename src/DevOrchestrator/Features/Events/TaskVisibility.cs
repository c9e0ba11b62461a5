using System.Security.Claims;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Auth;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Events;

/// <summary>
/// Which tasks' events one WebSocket connection may receive (<see cref="Ownership.VisibleTasks(AppDbContext, ClaimsPrincipal)"/>).
/// An admin receives everything without a query. For anyone else the answer per task id is remembered for
/// <see cref="Lifetime"/>, and the ids not known yet of a batch of events are looked up in one query, so the stream costs
/// no query per event and a membership change reaches an open connection within <see cref="Lifetime"/>. Events without a
/// task (system-wide) reach every connection.
/// </summary>
internal sealed class TaskVisibility(ClaimsPrincipal user, IDbContextFactory<AppDbContext> dbContexts, TimeProvider timeProvider)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(5);

    private readonly bool _admin = Ownership.IsAdmin(user);
    private readonly Dictionary<long, (bool Visible, DateTimeOffset Until)> _known = [];

    /// <summary>The events of <paramref name="batch"/> this connection may receive, in order.</summary>
    public async Task<IReadOnlyList<TaskEvent>> FilterAsync(IReadOnlyList<TaskEvent> batch, CancellationToken cancellationToken)
    {
        if (_admin)
        {
            return batch;
        }

        var now = timeProvider.GetUtcNow();
        var unknown = batch.Where(e => e.TaskId is { } id && !(_known.TryGetValue(id, out var k) && k.Until > now)).Select(e => e.TaskId!.Value).Distinct().ToList();
        if (unknown.Count > 0)
        {
            if (_known.Count > 10_000)
            {
                foreach (var expired in _known.Where(k => k.Value.Until <= now).Select(k => k.Key).ToList())
                {
                    _known.Remove(expired);
                }
            }

            await using var db = await dbContexts.CreateDbContextAsync(cancellationToken);
            var visible = (await Ownership.VisibleTasks(db, user).AsNoTracking().Where(t => unknown.Contains(t.Id)).Select(t => t.Id).ToListAsync(cancellationToken)).ToHashSet();
            foreach (var id in unknown)
            {
                _known[id] = (visible.Contains(id), now + Lifetime);
            }
        }

        return batch.Where(e => e.TaskId is not { } id || _known[id].Visible).ToList();
    }
}
