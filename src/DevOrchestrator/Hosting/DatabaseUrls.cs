namespace DevOrchestrator.Hosting;

/// <summary>Turns the guide's <c>postgresql://user:pass@host:5432/db</c> URL into an Npgsql connection string.</summary>
public static class DatabaseUrls
{
    public static string ToNpgsqlConnectionString(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("postgresql" or "postgres"))
        {
            throw new FormatException("expected postgresql://user:pass@host:5432/db");
        }

        var database = uri.AbsolutePath.Trim('/');
        if (database.Length == 0)
        {
            throw new FormatException("the URL names no database (postgresql://user:pass@host:5432/db)");
        }

        var builder = new Npgsql.NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
            Database = Uri.UnescapeDataString(database),
        };
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2)
            {
                builder.Password = Uri.UnescapeDataString(parts[1]);
            }
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            var key = Uri.UnescapeDataString(kv[0]);
            var value = kv.Length == 2 ? Uri.UnescapeDataString(kv[1]) : string.Empty;
            if (key.Equals("sslmode", StringComparison.OrdinalIgnoreCase))
            {
                builder.SslMode = Enum.Parse<Npgsql.SslMode>(value, ignoreCase: true);
            }
            else
            {
                try
                {
                    builder[key] = value;
                }
                catch (ArgumentException ex)
                {
                    throw new FormatException($"unknown parameter '{key}'", ex);
                }
            }
        }

        return builder.ConnectionString;
    }
}
