using System.Text.RegularExpressions;

namespace DevOrchestrator.Plugins.GitHub;

/// <summary>
/// Where a repository URL points: the host (with the port for http/https), the owner and the repository name. Accepts
/// <c>https://host/owner/repo(.git)</c>, <c>http://host:port/owner/repo(.git)</c>, <c>ssh://git@host/owner/repo.git</c>
/// and the scp-like <c>git@host:owner/repo.git</c>.
/// </summary>
internal sealed partial record GitHubRepositoryAddress(string Scheme, string Host, int Port, string Owner, string Name)
{
    public string FullName => $"{Owner}/{Name}";

    /// <summary>The scheme, host and port of <paramref name="url"/>, or false when it is not a repository URL form we know.</summary>
    public static bool TryParseHost(string? url, out string scheme, out string host, out int port)
    {
        scheme = host = "";
        port = 0;
        if (string.IsNullOrWhiteSpace(url))
        {
            return false;
        }

        url = url.Trim();
        if (ScpLike().Match(url) is { Success: true } scp)
        {
            scheme = "ssh";
            host = scp.Groups["host"].Value.ToLowerInvariant();
            port = 22;
            return true;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https" or "ssh" or "git") || uri.Host.Length == 0)
        {
            return false;
        }

        scheme = uri.Scheme;
        host = uri.Host.ToLowerInvariant();
        port = uri.Port;
        return true;
    }

    /// <summary>Parses <paramref name="url"/> strictly; null when it does not name exactly one owner and one repository.</summary>
    public static GitHubRepositoryAddress? TryParse(string? url)
    {
        if (!TryParseHost(url, out var scheme, out var host, out var port))
        {
            return null;
        }

        url = url!.Trim();
        string path;
        if (ScpLike().Match(url) is { Success: true } scp)
        {
            path = scp.Groups["path"].Value;
        }
        else
        {
            var uri = new Uri(url, UriKind.Absolute);
            if (uri.Query.Length > 0 || uri.Fragment.Length > 0)
            {
                return null;
            }

            path = Uri.UnescapeDataString(uri.AbsolutePath);
        }

        path = path.Trim('/');
        if (path.EndsWith(".git", StringComparison.OrdinalIgnoreCase))
        {
            path = path[..^4];
        }

        var parts = path.Split('/');
        return parts.Length == 2 && OwnerName().IsMatch(parts[0]) && RepositoryName().IsMatch(parts[1]) && parts[1] is not ("." or "..")
            ? new GitHubRepositoryAddress(scheme, host, port, parts[0], parts[1])
            : null;
    }

    [GeneratedRegex(@"^(?<user>[A-Za-z0-9._-]+)@(?<host>[A-Za-z0-9.-]+):(?<path>[^/].*)$")]
    private static partial Regex ScpLike();

    // Logins are alphanumeric with hyphens; Enterprise managed users add "_shortcode".
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")]
    private static partial Regex OwnerName();

    [GeneratedRegex(@"^[A-Za-z0-9._-]{1,100}$")]
    private static partial Regex RepositoryName();
}
