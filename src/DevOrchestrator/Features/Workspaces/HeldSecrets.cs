using System.Text;
using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Hosting;

namespace DevOrchestrator.Features.Workspaces;

/// <summary>
/// The secret values the service itself holds, read when a scan starts (so a token stored through the API or rotated
/// since is known): every setting whose name marks it secret (<see cref="SecretFiles.IsSecret"/>: vendor tokens, model
/// API keys, <c>JWT_SECRET_KEY</c>, <c>ENCRYPTION_KEY</c>, webhook and signing secrets — from the environment, files,
/// <c>.env</c> or the stored, decrypted plugin configuration, which is a layer of the same configuration), every plugin
/// setting declared secret, and the JWT signing key (also when generated into <c>DATA_DIR</c>). Only values of at least
/// <see cref="SecretRules.MinimumHeldSecretLength"/> characters; URLs (<c>DATABASE_URL</c>, <c>REDIS_URL</c>) are not
/// values to look for.
/// </summary>
public sealed class HeldSecrets(IConfiguration configuration, IEnumerable<IPlugin> plugins, JwtSigningKey? signingKey = null)
{
    public IReadOnlyCollection<string> Values()
    {
        var values = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, value) in configuration.AsEnumerable())
        {
            var name = key[(key.LastIndexOf(':') + 1)..];
            if (value is not null && SecretFiles.IsSecret(name) && !name.EndsWith("_URL", StringComparison.OrdinalIgnoreCase))
            {
                Add(values, value);
            }
        }

        foreach (var setting in plugins.SelectMany(p => p.Settings).Where(s => s.Secret))
        {
            Add(values, configuration[setting.Key]);
        }

        if (signingKey is not null)
        {
            Add(values, Encoding.UTF8.GetString(signingKey.Key.Key));
        }

        return values;
    }

    private static void Add(HashSet<string> values, string? value)
    {
        var trimmed = value?.Trim();
        if (trimmed is { Length: >= SecretRules.MinimumHeldSecretLength })
        {
            values.Add(trimmed);
        }
    }
}
