using System.CommandLine;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Plugins;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Cli;

/// <summary>
/// <c>devorch secrets rotate-key --new-key-file PATH</c> (docs/security.md, "Rotating ENCRYPTION_KEY"). The new key is
/// read from a file, never taken as an argument: a command line is visible to every user in <c>ps</c> and is kept in
/// shell history.
/// </summary>
internal static class SecretsCommand
{
    public static Command Create()
    {
        var keyFile = new Option<string>("--new-key-file")
        {
            Description = "A file holding the new key (its content, trimmed; e.g. made with 'openssl rand -base64 32 > new.key'). Never the key itself on the command line: it would show in ps and shell history",
            Required = true,
        };
        var rotate = new Command("rotate-key",
            "Re-encrypt every stored encrypted value (plugin settings, Slack reply URLs) from ENCRYPTION_KEY (or ENCRYPTION_KEY_PREVIOUS) to a new key, in one transaction: all or nothing.")
        {
            keyFile,
        };
        rotate.SetAction(async (parseResult, cancellationToken) =>
        {
            var path = parseResult.GetValue(keyFile)!;
            string newKey;
            try
            {
                newKey = (await File.ReadAllTextAsync(path, cancellationToken)).Trim();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                await Console.Error.WriteLineAsync($"--new-key-file: cannot read {path} ({(ex is FileNotFoundException or DirectoryNotFoundException ? "no such file" : ex.GetType().Name)}).");
                return ExitCodes.Usage;
            }

            if (newKey.Length == 0)
            {
                await Console.Error.WriteLineAsync($"--new-key-file: the file {path} is empty.");
                return ExitCodes.Usage;
            }

            await using var services = DevOrchestratorCli.BuildServices();
            var plugins = services.GetRequiredService<IOptions<PluginOptions>>();
            var current = new ConfigEncryption(plugins, services.GetRequiredService<IOptions<DatabaseOptions>>());
            if (string.Equals(plugins.Value.EncryptionKey, newKey, StringComparison.Ordinal))
            {
                Console.WriteLine("The new key is the current ENCRYPTION_KEY: values still encrypted with ENCRYPTION_KEY_PREVIOUS move to it, the others are encrypted again with it.");
            }

            await using var db = await services.GetRequiredService<IDbContextFactory<AppDbContext>>().CreateDbContextAsync(cancellationToken);
            EncryptionKeyRotationResult result;
            try
            {
                result = await EncryptionKeyRotation.RotateAsync(db, current, ConfigEncryption.WithKey(newKey), Console.WriteLine, cancellationToken);
            }
            catch (ConfigEncryptionException ex)
            {
                await Console.Error.WriteLineAsync($"Nothing was changed: {ex.Message}. Set ENCRYPTION_KEY (and ENCRYPTION_KEY_PREVIOUS during a roll-out) to the key(s) the values were stored with, then run this again.");
                return ExitCodes.Failure;
            }

            Console.WriteLine($"Rotated {result.Total} value(s) to the new key ({result.PluginConfigs} plugin configuration(s), {result.TaskReplyUrls} task reply URL(s); {result.WithPreviousKey} of them were still under ENCRYPTION_KEY_PREVIOUS).");
            Console.WriteLine("Next: on every replica set ENCRYPTION_KEY to the new key and ENCRYPTION_KEY_PREVIOUS to the old one, and restart; once all run the new key, run this command again with the new key and then remove ENCRYPTION_KEY_PREVIOUS.");
            return ExitCodes.Ok;
        });
        return new Command("secrets", "Secret commands (on the database).") { rotate };
    }
}
