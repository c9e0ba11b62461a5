using DevOrchestrator.Hosting;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Data;

/// <summary>The database: PostgreSQL by URL, or an SQLite file (by default in <c>DATA_DIR</c>).</summary>
public sealed class DatabaseOptions
{
    [ConfigurationKeyName("DATABASE_URL")] public string? DatabaseUrl { get; set; }

    /// <summary>The same <c>DATA_DIR</c> as <see cref="ServerOptions.DataDir"/>: where the SQLite file and the local keys live.</summary>
    [ConfigurationKeyName("DATA_DIR")] public string DataDir { get; set; } = ServerOptions.DefaultDataDir;

    public bool UsesPostgres => DatabaseUrl is { } url &&
        (url.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase));

    public string FullDataDir => Path.GetFullPath(DataDir);

    /// <summary>The SQLite file used when <c>DATABASE_URL</c> is not a PostgreSQL URL.</summary>
    public string SqlitePath
    {
        get
        {
            var url = DatabaseUrl;
            if (string.IsNullOrWhiteSpace(url))
            {
                return Path.Combine(FullDataDir, "devorch.db");
            }

            if (url.StartsWith("sqlite:///", StringComparison.OrdinalIgnoreCase))
            {
                url = url["sqlite:///".Length..];
            }
            else if (url.StartsWith("sqlite://", StringComparison.OrdinalIgnoreCase))
            {
                url = url["sqlite://".Length..];
            }

            return Path.GetFullPath(url);
        }
    }
}

internal sealed class DatabaseOptionsValidator : IValidateOptions<DatabaseOptions>
{
    public ValidateOptionsResult Validate(string? name, DatabaseOptions options)
    {
        if (options.DatabaseUrl is { Length: > 0 } url && url.Contains("://", StringComparison.Ordinal) && !options.UsesPostgres
            && !url.StartsWith("sqlite:", StringComparison.OrdinalIgnoreCase))
        {
            return ValidateOptionsResult.Fail("DATABASE_URL must be a postgresql://user:pass@host:5432/db URL or a SQLite file path.");
        }

        if (options.UsesPostgres)
        {
            try
            {
                _ = DatabaseUrls.ToNpgsqlConnectionString(options.DatabaseUrl!);
            }
            catch (FormatException ex)
            {
                return ValidateOptionsResult.Fail($"DATABASE_URL is not a valid PostgreSQL URL: {ex.Message}");
            }
        }

        return ValidateOptionsResult.Success;
    }
}
