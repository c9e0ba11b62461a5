using Microsoft.Extensions.Configuration.Memory;

namespace DevOrchestrator.Hosting;

/// <summary>
/// <c>NAME_FILE=/path</c> for every secret setting (Docker and Kubernetes secrets mounted as files): the file's content,
/// trimmed, is the value of <c>NAME</c>. A secret setting is one whose name ends in <c>_KEY</c>, <c>_KEY_PREVIOUS</c> or <c>_TOKEN</c> or
/// contains <c>SECRET</c> or <c>PASSWORD</c> (the names <c>devorch config show</c> masks), and <c>DATABASE_URL</c> and
/// <c>REDIS_URL</c>, which carry passwords. A file that cannot be read, an empty file, or <c>NAME</c> set as well is a
/// start-up error naming the variable and the path — never the content.
/// </summary>
public static class SecretFiles
{
    public const string Suffix = "_FILE";

    /// <summary>Whether <paramref name="name"/> holds a secret (masked when shown, readable from <c>NAME_FILE</c>).</summary>
    public static bool IsSecret(string name)
    {
        var upper = name.ToUpperInvariant();
        if (upper.StartsWith("SECRET_SCAN_", StringComparison.Ordinal))
        {
            return false; // the secret scan's own switches (SECRET_SCAN_ENABLED…) hold no secret
        }

        return upper.EndsWith("_KEY", StringComparison.Ordinal) || upper.EndsWith("_KEY_PREVIOUS", StringComparison.Ordinal) || upper.EndsWith("_TOKEN", StringComparison.Ordinal)
            || upper.Contains("SECRET", StringComparison.Ordinal) || upper.Contains("PASSWORD", StringComparison.Ordinal)
            || upper is "DATABASE_URL" or "REDIS_URL";
    }

    /// <summary>
    /// Reads every <c>NAME_FILE</c> of <paramref name="configuration"/> and adds the values last (over every other
    /// source: the file is how that deployment chose to set the value). Throws <see cref="SettingsException"/> listing
    /// every problem.
    /// </summary>
    public static void AddTo(IConfigurationManager configuration)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var errors = new List<string>();
        foreach (var (key, path) in ((IConfigurationRoot)configuration).AsEnumerable().OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!key.EndsWith(Suffix, StringComparison.OrdinalIgnoreCase) || key.Contains(':', StringComparison.Ordinal) || key.Length == Suffix.Length)
            {
                continue;
            }

            var name = key[..^Suffix.Length];
            if (!IsSecret(name) || string.IsNullOrWhiteSpace(path))
            {
                continue;
            }

            if (configuration[name] is { Length: > 0 })
            {
                errors.Add($"{name} and {key} are both set: set one (the file {path}, or the value itself)");
                continue;
            }

            try
            {
                var value = File.ReadAllText(path).Trim();
                if (value.Length == 0)
                {
                    errors.Add($"{key}: the file {path} is empty");
                    continue;
                }

                values[name] = value;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                errors.Add($"{key}: cannot read {path} ({Reason(ex)})");
            }
        }

        if (errors.Count > 0)
        {
            throw new SettingsException(errors);
        }

        if (values.Count > 0)
        {
            configuration.Sources.Add(new SecretFilesSource { InitialData = values });
        }
    }

    private static string Reason(Exception exception) => exception switch
    {
        FileNotFoundException or DirectoryNotFoundException => "no such file",
        UnauthorizedAccessException => "permission denied",
        _ => exception.Message,
    };

    /// <summary>The values read from <c>NAME_FILE</c> files (its own type, so that <c>config show</c> can name the source).</summary>
    public sealed class SecretFilesSource : MemoryConfigurationSource, IConfigurationSource
    {
        IConfigurationProvider IConfigurationSource.Build(IConfigurationBuilder builder) => new SecretFilesProvider(this);
    }

    /// <summary>The provider of <see cref="SecretFilesSource"/>.</summary>
    public sealed class SecretFilesProvider(SecretFilesSource source) : MemoryConfigurationProvider(source);
}
