namespace DevOrchestrator.Hosting;

/// <summary>Turns <c>redis://[:password@]host[:6379][/db]</c> (or <c>rediss://</c> for TLS) into StackExchange.Redis options.</summary>
public static class RedisUrls
{
    public static StackExchange.Redis.ConfigurationOptions ToConfiguration(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("redis" or "rediss") || uri.Host.Length == 0)
        {
            throw new FormatException("expected redis://[:password@]host:6379[/db]");
        }

        var options = new StackExchange.Redis.ConfigurationOptions
        {
            Ssl = uri.Scheme == "rediss",
            AbortOnConnectFail = false,
            ConnectTimeout = 5000,
        };
        options.EndPoints.Add(uri.Host, uri.IsDefaultPort || uri.Port <= 0 ? 6379 : uri.Port);
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            if (parts.Length == 2)
            {
                options.User = parts[0].Length > 0 ? Uri.UnescapeDataString(parts[0]) : null;
                options.Password = Uri.UnescapeDataString(parts[1]);
            }
            else
            {
                options.Password = Uri.UnescapeDataString(parts[0]);
            }
        }

        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0)
        {
            if (!int.TryParse(path, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var db) || db > 15)
            {
                throw new FormatException("the database number after the host must be 0-15");
            }

            options.DefaultDatabase = db;
        }

        return options;
    }
}
