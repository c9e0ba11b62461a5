using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace DevOrchestrator.FakeVendors;

/// <summary>
/// A fake HashiCorp Vault with the KV v2 secrets engine and the Kubernetes auth method, as documented in Vault's HTTP
/// API: <c>X-Vault-Token</c> on every request but a login (a missing, unknown, revoked or expired token, or one whose
/// policy does not cover the path: 403 <c>{"errors":["permission denied"]}</c>); <c>GET /v1/MOUNT/data/PATH</c>
/// (<c>?version=N</c>) answering <c>{"data":{"data":{…},"metadata":{"version":N,…}}}</c>, a path without a secret
/// 404 <c>{"errors":[]}</c>; <c>POST|PUT /v1/MOUNT/data/PATH</c> <c>{"data":{…}}</c> writing a new version;
/// <c>POST /v1/auth/MOUNT/login</c> <c>{"role","jwt"}</c> answering <c>{"auth":{"client_token","lease_duration",…}}</c>
/// with a token that expires after its lease.
/// </summary>
public sealed class FakeVaultServer : FakeVendorServer
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, FakeVaultToken> _tokens = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<(DateTimeOffset Created, Dictionary<string, string> Data)>> _secrets = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Mount, string Role), (string Jwt, int LeaseSeconds, string[]? Paths)> _roles = [];
    private readonly HashSet<string> _kvMounts = new(StringComparer.Ordinal) { "secret" };
    private long _issued;

    /// <summary>Lets <paramref name="token"/> in; <paramref name="paths"/> are the API paths (<c>secret/data/app</c>) its policy allows, or every path when null.</summary>
    public void AddToken(string token, params string[]? paths)
    {
        lock (_lock)
        {
            _tokens[token] = new FakeVaultToken(paths is { Length: > 0 } ? paths : null, DateTimeOffset.MaxValue);
        }
    }

    /// <summary>Revokes a token: its next request is refused.</summary>
    public void RevokeToken(string token)
    {
        lock (_lock)
        {
            _tokens.Remove(token);
        }
    }

    /// <summary>Enables a KV v2 engine at <paramref name="mount"/> (<c>secret</c> is enabled from the start).</summary>
    public void EnableKv(string mount)
    {
        lock (_lock)
        {
            _kvMounts.Add(mount);
        }
    }

    /// <summary>A Kubernetes auth role at auth/<paramref name="mount"/>: a login with this role and <paramref name="jwt"/> gets a token for <paramref name="leaseSeconds"/>.</summary>
    public void AddKubernetesRole(string role, string jwt, int leaseSeconds, string mount = "kubernetes", params string[]? paths)
    {
        lock (_lock)
        {
            _roles[(mount, role)] = (jwt, leaseSeconds, paths is { Length: > 0 } ? paths : null);
        }
    }

    /// <summary>Writes a new version of the secret at <paramref name="mount"/>/data/<paramref name="path"/>; returns its version number (1, 2, …).</summary>
    public int WriteSecret(string mount, string path, IReadOnlyDictionary<string, string> data)
    {
        lock (_lock)
        {
            var key = mount + "/data/" + path;
            if (!_secrets.TryGetValue(key, out var versions))
            {
                _secrets[key] = versions = [];
            }

            versions.Add((DateTimeOffset.UtcNow, new Dictionary<string, string>(data, StringComparer.Ordinal)));
            return versions.Count;
        }
    }

    /// <summary>The tokens the Kubernetes logins issued, in order.</summary>
    public IReadOnlyList<string> IssuedTokens
    {
        get
        {
            lock (_lock)
            {
                return _tokens.Where(t => t.Value.Issued > 0).OrderBy(t => t.Value.Issued).Select(t => t.Key).ToArray();
            }
        }
    }

    /// <summary>Every request is authenticated by its route (a login needs no token); refusals are 403 as Vault answers them.</summary>
    protected override string? Authenticate(HttpRequest request) => null;

    protected override void MapRoutes(WebApplication app)
    {
        app.MapPost("/v1/auth/{mount}/login", Login);
        app.MapGet("/v1/{**path}", Read);
        app.MapMethods("/v1/{**path}", ["POST", "PUT"], Write);
    }

    protected override Task WriteErrorAsync(HttpContext context, int statusCode, string message) =>
        WriteJsonAsync(context, statusCode, new JsonObject { ["errors"] = statusCode == StatusCodes.Status404NotFound ? new JsonArray() : new JsonArray(message) });

    private Task Login(HttpContext context, string mount)
    {
        var body = JsonBody(context);
        Require(body, "role", "jwt");
        var role = body["role"]!.ToString();
        var jwt = body["jwt"]!.ToString();
        string token;
        int lease;
        lock (_lock)
        {
            if (!_roles.TryGetValue((mount, role), out var entry))
            {
                throw new BadVendorRequestException(400, $"invalid role name \"{role}\"");
            }

            if (!string.Equals(entry.Jwt, jwt, StringComparison.Ordinal))
            {
                throw new BadVendorRequestException(403, "permission denied");
            }

            var issued = ++_issued;
            token = "fake-vault-k8s-token-" + issued.ToString(CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8];
            lease = entry.LeaseSeconds;
            _tokens[token] = new FakeVaultToken(entry.Paths, DateTimeOffset.UtcNow.AddSeconds(lease)) { Issued = issued };
        }

        return WriteJsonAsync(context, 200, new JsonObject
        {
            ["request_id"] = Guid.NewGuid().ToString(),
            ["lease_id"] = "",
            ["renewable"] = false,
            ["lease_duration"] = 0,
            ["data"] = null,
            ["auth"] = new JsonObject
            {
                ["client_token"] = token,
                ["accessor"] = Guid.NewGuid().ToString(),
                ["policies"] = new JsonArray("default", "devorch"),
                ["metadata"] = new JsonObject { ["role"] = role, ["service_account_name"] = "devorch" },
                ["lease_duration"] = lease,
                ["renewable"] = true,
            },
        });
    }

    private Task Read(HttpContext context, string path)
    {
        var (mount, key) = Authorize(context, path);
        lock (_lock)
        {
            if (!_secrets.TryGetValue(mount + "/data/" + key, out var versions) || versions.Count == 0)
            {
                throw new BadVendorRequestException(404, string.Empty);
            }

            var number = int.TryParse(context.Request.Query["version"], CultureInfo.InvariantCulture, out var asked) && asked > 0 ? asked : versions.Count;
            if (number > versions.Count)
            {
                throw new BadVendorRequestException(404, string.Empty);
            }

            var (created, data) = versions[number - 1];
            var values = new JsonObject();
            foreach (var (name, value) in data)
            {
                values[name] = value;
            }

            return WriteJsonAsync(context, 200, new JsonObject
            {
                ["request_id"] = Guid.NewGuid().ToString(),
                ["lease_id"] = "",
                ["renewable"] = false,
                ["lease_duration"] = 0,
                ["data"] = new JsonObject { ["data"] = values, ["metadata"] = Metadata(created, number) },
                ["auth"] = null,
            });
        }
    }

    private Task Write(HttpContext context, string path)
    {
        var (mount, key) = Authorize(context, path);
        if (JsonBody(context)["data"] is not JsonObject data)
        {
            throw new BadVendorRequestException(400, "no data provided");
        }

        var version = WriteSecret(mount, key, data.ToDictionary(kv => kv.Key, kv => kv.Value?.ToString() ?? string.Empty));
        return WriteJsonAsync(context, 200, new JsonObject { ["data"] = Metadata(DateTimeOffset.UtcNow, version) });
    }

    private static JsonObject Metadata(DateTimeOffset created, int version) => new()
    {
        ["created_time"] = created.ToString("O", CultureInfo.InvariantCulture),
        ["custom_metadata"] = null,
        ["deletion_time"] = "",
        ["destroyed"] = false,
        ["version"] = version,
    };

    /// <summary>The mount and secret path of a KV v2 data path the request's token may use; 403 or 404 otherwise.</summary>
    private (string Mount, string Key) Authorize(HttpContext context, string path)
    {
        var token = context.Request.Headers["X-Vault-Token"].ToString();
        lock (_lock)
        {
            if (token.Length == 0 || !_tokens.TryGetValue(token, out var granted) || granted.ExpiresAt <= DateTimeOffset.UtcNow
                || (granted.Paths is { } paths && !paths.Contains(path, StringComparer.Ordinal)))
            {
                throw new BadVendorRequestException(403, "permission denied");
            }

            var at = path.IndexOf("/data/", StringComparison.Ordinal);
            if (at <= 0 || !_kvMounts.Contains(path[..at]))
            {
                throw new BadVendorRequestException(404, string.Empty);
            }

            return (path[..at], path[(at + 6)..]);
        }
    }

    private sealed record FakeVaultToken(string[]? Paths, DateTimeOffset ExpiresAt)
    {
        public long Issued { get; init; }
    }
}
