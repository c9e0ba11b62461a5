using DevOrchestrator.Data;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Plugins;

/// <summary>
/// <c>devorch secrets rotate-key</c>: every value encrypted with <see cref="ConfigEncryption"/> — <c>plugin_configs.encrypted_values</c>
/// and <c>tasks.reply_to</c> (a Slack <c>response_url</c>) — decrypted with the current key (or <c>ENCRYPTION_KEY_PREVIOUS</c>)
/// and encrypted with the new one, in one transaction. Every value is decrypted before the first is written: one that
/// cannot be decrypted stops the rotation with nothing changed.
/// </summary>
public static class EncryptionKeyRotation
{
    public static async Task<EncryptionKeyRotationResult> RotateAsync(AppDbContext db, ConfigEncryption current, ConfigEncryption next, Action<string> progress, CancellationToken cancellationToken)
    {
        // SQLite: the transaction is BEGIN IMMEDIATE (the write lock from the start). PostgreSQL: the plugin_configs rows
        // are locked when read, so a replica saving settings meanwhile waits instead of being overwritten with older values.
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var configs = db.Database.IsNpgsql()
            ? await db.PluginConfigs.FromSql($"SELECT * FROM plugin_configs ORDER BY id FOR UPDATE").ToListAsync(cancellationToken)
            : await db.PluginConfigs.OrderBy(c => c.Id).ToListAsync(cancellationToken);
        var replies = await db.Tasks.Where(t => t.ReplyTo != null).OrderBy(t => t.Id).Select(t => new { t.Id, t.ReplyTo }).ToListAsync(cancellationToken);
        progress($"Found {configs.Count} stored plugin configuration(s) and {replies.Count} task reply URL(s).");

        var withPrevious = 0;
        var configValues = new List<string>(configs.Count);
        foreach (var config in configs)
        {
            configValues.Add(Reencrypt(config.EncryptedValues, $"plugin_configs row {config.Id} ({config.Type}/{config.Name})"));
        }

        var replyValues = new List<string>(replies.Count);
        foreach (var reply in replies)
        {
            replyValues.Add(Reencrypt(reply.ReplyTo!, $"tasks row {reply.Id} (reply_to)"));
        }

        for (var i = 0; i < configs.Count; i++)
        {
            configs[i].EncryptedValues = configValues[i];
        }

        await db.SaveChangesAsync(cancellationToken);
        progress($"Re-encrypted {configs.Count} plugin configuration(s).");
        for (var i = 0; i < replies.Count; i++)
        {
            var id = replies[i].Id;
            var value = replyValues[i];
            await db.Tasks.Where(t => t.Id == id).ExecuteUpdateAsync(s => s.SetProperty(t => t.ReplyTo, value), cancellationToken);
            if ((i + 1) % 1000 == 0)
            {
                progress($"Re-encrypted {i + 1} of {replies.Count} task reply URL(s).");
            }
        }

        progress($"Re-encrypted {replies.Count} task reply URL(s).");
        // The commit is the operator's change: not cancelled half-way by Ctrl+C once every value is written.
        await transaction.CommitAsync(CancellationToken.None);
        return new EncryptionKeyRotationResult(configs.Count, replies.Count, withPrevious);

        string Reencrypt(string stored, string what)
        {
            string plaintext;
            try
            {
                plaintext = current.Decrypt(stored, out var previous);
                withPrevious += previous ? 1 : 0;
            }
            catch (ConfigEncryptionException ex)
            {
                throw new ConfigEncryptionException($"{what}: {ex.Message}", ex);
            }

            return next.Encrypt(plaintext);
        }
    }
}
