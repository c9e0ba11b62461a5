using System.Text.Json;
using DevOrchestrator.Data;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Plugins;

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
