namespace DevOrchestrator.Hosting;

/// <summary>Turns the guide's <c>postgresql://user:pass@host:5432/db</c> URL into an Npgsql connection string.</summary>
public static class DatabaseUrls
{
    public static string ToNpgsqlConnectionString(string url)
    {
        if (HasUnescapedUserInfo(url))
        {
            throw new FormatException(
                "the user name or password holds a reserved character (@ / ? # [ ] or %) that is not percent-encoded; " +
                "percent-encode it (@ as %40, # as %23, / as %2F, ? as %3F, % as %25), e.g. postgresql://user:p%40ss@host:5432/db");
        }

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

    /// <summary>
    /// The user information (before the last <c>@</c> that is followed by a host and a path) holds a character that a URL
    /// reserves, unescaped: a password like <c>p@ss#1</c> copied as is. Parsed as a URL, such a value names another host
    /// or loses its end silently, so it is refused with a message that says what to do (never the value itself).
    /// </summary>
    internal static bool HasUnescapedUserInfo(string url)
    {
        var start = url.IndexOf("://", StringComparison.Ordinal);
        if (start < 0)
        {
            return false;
        }

        var rest = url[(start + 3)..];
        var at = rest.LastIndexOf('@');
        if (at < 0 || !s_hostAndPath.IsMatch(rest[(at + 1)..]))
        {
            return false;
        }

        var userInfo = rest[..at];
        return userInfo.IndexOfAny(['@', '/', '?', '#', '[', ']']) >= 0 || s_badPercent.IsMatch(userInfo);
    }

    private static readonly System.Text.RegularExpressions.Regex s_hostAndPath = new(@"^[A-Za-z0-9.\-]+(:[0-9]+)?(/|$)");
    private static readonly System.Text.RegularExpressions.Regex s_badPercent = new("%(?![0-9A-Fa-f]{2})");
}
