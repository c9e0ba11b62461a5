using System.Text.Json;
using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Data;
using DevOrchestrator.Hosting;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Effects;

/// <summary>
/// Performs an external write at most once per idempotency key: the record is written (pending) before the vendor is
/// called and completed with the vendor's answer after. A later attempt with the same key
/// <list type="bullet">
/// <item>finds it completed: returns the stored result, calls nobody;</item>
/// <item>finds it pending (the earlier attempt's outcome is unknown — the worker died, the call timed out): asks the
/// vendor first (<c>find</c>: the PR for the branch, the comment carrying the key…) and writes only when nothing is there;</item>
/// <item>finds it failed with a definite refusal (a 4xx other than 408/429): writes again.</item>
/// </list>
/// </summary>
public sealed partial class ExternalEffects(IDbContextFactory<AppDbContext> dbContexts, TimeProvider timeProvider, ILogger<ExternalEffects> logger)
{
    /// <summary>The key of a task's effect: <c>task:{id}:{operation}:{target}</c>.</summary>
    public static string Key(long taskId, string operation, string target) => $"task:{taskId}:{operation}:{target}";

    public async Task<EffectResult<T>> OnceAsync<T>(
        string key, long? taskId, string plugin, string operation,
        Func<CancellationToken, Task<T?>> find, Func<CancellationToken, Task<T>> perform, CancellationToken cancellationToken)
        where T : class
    {
        var (record, earlier) = await BeginAsync(key, taskId, plugin, operation, cancellationToken);
        if (earlier == ExternalEffectStatuses.Completed && record.Result is { } stored && JsonSerializer.Deserialize<T>(stored, JsonDefaults.Options) is { } done)
        {
            LogReused(logger, key);
            return new EffectResult<T>(done, Reused: true);
        }

        if (earlier == ExternalEffectStatuses.Pending)
        {
            // The last attempt may have reached the vendor: look before writing again.
            if (await find(cancellationToken) is { } found)
            {
                LogFoundAtVendor(logger, key);
                await CompleteAsync(record.Id, found, cancellationToken);
                return new EffectResult<T>(found, Reused: true);
            }
        }

        T result;
        try
        {
            result = await perform(cancellationToken);
        }
        catch (PluginException ex) when (ex.StatusCode is >= 400 and < 500 and not 408 and not 429)
        {
            // A definite refusal: nothing was created.
            await FailAsync(record.Id, ex.Message, CancellationToken.None);
            throw;
        }

        await CompleteAsync(record.Id, result, CancellationToken.None);
        return new EffectResult<T>(result, Reused: false);
    }

    /// <summary>Creates the pending record, or takes the existing one; returns it with its status before this attempt (null when new).</summary>
    private async Task<(ExternalEffect Record, string? Earlier)> BeginAsync(string key, long? taskId, string plugin, string operation, CancellationToken cancellationToken)
    {
        await using var db = dbContexts.CreateDbContext();
        var now = timeProvider.GetUtcNow();
        for (var attempt = 0; ; attempt++)
        {
            var existing = await db.ExternalEffects.FirstOrDefaultAsync(e => e.Key == key, cancellationToken);
            if (existing is not null)
            {
                var earlier = existing.Status;
                if (earlier != ExternalEffectStatuses.Completed)
                {
                    existing.Status = ExternalEffectStatuses.Pending;
                    existing.Attempts++;
                    existing.UpdatedAt = now;
                    await db.SaveChangesAsync(cancellationToken);
                }

                return (existing, earlier);
            }

            var record = new ExternalEffect { Key = key, TaskId = taskId, Plugin = plugin, Operation = operation, Attempts = 1, CreatedAt = now, UpdatedAt = now };
            db.ExternalEffects.Add(record);
            try
            {
                await db.SaveChangesAsync(cancellationToken);
                return (record, null);
            }
            catch (DbUpdateException) when (attempt == 0)
            {
                // Someone else recorded the same key between our read and our insert: read theirs.
                db.ChangeTracker.Clear();
            }
        }
    }

    private async Task CompleteAsync<T>(long id, T result, CancellationToken cancellationToken)
    {
        await using var db = dbContexts.CreateDbContext();
        var json = JsonSerializer.Serialize(result, JsonDefaults.Options);
        var now = timeProvider.GetUtcNow();
        await db.ExternalEffects.Where(e => e.Id == id).ExecuteUpdateAsync(s => s
            .SetProperty(e => e.Status, ExternalEffectStatuses.Completed)
            .SetProperty(e => e.Result, json)
            .SetProperty(e => e.Error, (string?)null)
            .SetProperty(e => e.UpdatedAt, now)
            .SetProperty(e => e.CompletedAt, now), cancellationToken);
    }

    private async Task FailAsync(long id, string error, CancellationToken cancellationToken)
    {
        await using var db = dbContexts.CreateDbContext();
        var now = timeProvider.GetUtcNow();
        var bounded = error.Length > 2000 ? error[..2000] : error;
        await db.ExternalEffects.Where(e => e.Id == id).ExecuteUpdateAsync(s => s
            .SetProperty(e => e.Status, ExternalEffectStatuses.Failed)
            .SetProperty(e => e.Error, bounded)
            .SetProperty(e => e.UpdatedAt, now), cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "External effect {Key} was already done; reusing its result")]
    private static partial void LogReused(ILogger logger, string key);

    [LoggerMessage(Level = LogLevel.Information, Message = "External effect {Key} had an unknown outcome and was found at the vendor")]
    private static partial void LogFoundAtVendor(ILogger logger, string key);
}
