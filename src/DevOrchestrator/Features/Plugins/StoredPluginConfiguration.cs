using System.Text.Json;
using DevOrchestrator.Data;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Plugins;

/// <summary>
/// The configuration layer of stored plugin settings, above the environment, <c>.env</c> and appsettings: plugins
/// bind their settings from the root configuration and follow its reloads, so a stored change reaches them without a
/// restart. Filled by <see cref="PluginConfigStore"/> at start, after every change, and every 30 seconds (changes made
/// through another replica).
/// </summary>
public sealed class StoredPluginConfiguration : ConfigurationProvider, IConfigurationSource
{
    public IConfigurationProvider Build(IConfigurationBuilder builder) => this;

    /// <summary>Replaces the stored values; reloads the configuration only when something changed.</summary>
    public void Replace(IReadOnlyDictionary<string, string?> values)
    {
        var next = new Dictionary<string, string?>(values, StringComparer.OrdinalIgnoreCase);
        if (next.Count == Data.Count && next.All(kv => Data.TryGetValue(kv.Key, out var old) && old == kv.Value))
        {
            return;
        }

        Data = next;
        OnReload();
    }
}

/// <summary>Reads and writes <see cref="PluginConfig"/> rows (values encrypted), and refreshes the configuration layer.</summary>
public sealed class PluginConfigStore(AppDbContext db, ConfigEncryption encryption, StoredPluginConfiguration layer, TimeProvider timeProvider)
{
    /// <summary>The stored values of one plugin (decrypted), empty when none are stored.</summary>
    public async Task<Dictionary<string, string?>> GetAsync(string type, string name, CancellationToken cancellationToken)
    {
        var row = await db.PluginConfigs.AsNoTracking().FirstOrDefaultAsync(c => c.Type == type && c.Name == name, cancellationToken);
        return row is null ? new(StringComparer.Ordinal) : Read(row);
    }

    /// <summary>
    /// Applies a change to one plugin's stored values: a key with a value sets it, a key with null removes it (the
    /// environment's value applies again), keys not named keep their stored value.
    /// </summary>
    public async Task<Dictionary<string, string?>> SaveAsync(string type, string name, IReadOnlyDictionary<string, string?> change, long? userId, CancellationToken cancellationToken)
    {
        var row = await db.PluginConfigs.FirstOrDefaultAsync(c => c.Type == type && c.Name == name, cancellationToken);
        var values = row is null ? new Dictionary<string, string?>(StringComparer.Ordinal) : Read(row);
        foreach (var (key, value) in change)
        {
            if (value is null)
            {
                values.Remove(key);
            }
            else
            {
                values[key] = value;
            }
        }

        var now = timeProvider.GetUtcNow();
        var encrypted = encryption.Encrypt(JsonSerializer.Serialize(values));
        if (row is null)
        {
            db.PluginConfigs.Add(new PluginConfig { Type = type, Name = name, EncryptedValues = encrypted, UpdatedByUserId = userId, CreatedAt = now, UpdatedAt = now });
        }
        else
        {
            row.EncryptedValues = encrypted;
            row.UpdatedByUserId = userId;
            row.UpdatedAt = now;
        }

        await db.SaveChangesAsync(cancellationToken);
        await RefreshAsync(cancellationToken);
        return values;
    }

    /// <summary>Loads every stored configuration into the configuration layer.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var rows = await db.PluginConfigs.AsNoTracking().OrderBy(c => c.Id).ToListAsync(cancellationToken);
        var merged = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var row in rows)
        {
            foreach (var (key, value) in Read(row))
            {
                merged[key] = value;
            }
        }

        layer.Replace(merged);
    }

    private Dictionary<string, string?> Read(PluginConfig row) =>
        new(JsonSerializer.Deserialize<Dictionary<string, string?>>(encryption.Decrypt(row.EncryptedValues)) ?? [], StringComparer.Ordinal);
}

/// <summary>Loads the stored plugin configuration at start and every 30 seconds (changes made through other replicas).</summary>
public sealed partial class PluginConfigRefresher(IServiceScopeFactory scopes, TimeProvider timeProvider, ILogger<PluginConfigRefresher> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await RefreshAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await RefreshAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<PluginConfigStore>().RefreshAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Not migrated yet, database down, key changed: keep the environment's settings and say why.
            LogRefreshFailed(logger, ex.GetType().Name, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stored plugin configuration could not be loaded ({Error}: {Detail}); plugins use the environment's settings")]
    private static partial void LogRefreshFailed(ILogger logger, string error, string detail);
}
