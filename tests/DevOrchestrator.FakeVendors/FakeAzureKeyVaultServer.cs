using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace DevOrchestrator.FakeVendors;

/// <summary>
/// A fake Azure Key Vault (secrets) and the Microsoft Entra ID token endpoint it sends clients to, over HTTPS with a
/// test certificate authority made at start (<see cref="CaCertificatePem"/>; Key Vault's SDK refuses a bearer token
/// over plain HTTP). Key Vault as documented: a request without a bearer token (or with an unknown one) is answered
/// 401 with <c>WWW-Authenticate: Bearer authorization="AUTHORITY/TENANT", resource="https://vault.azure.net"</c>;
/// <c>GET /secrets?api-version=…</c> lists <c>{"value":[{"id","attributes":{"enabled",…}}],"nextLink"}</c> a few
/// at a time; <c>GET /secrets/NAME[/VERSION]?api-version=…</c> answers <c>{"value","id","attributes"}</c>; errors are
/// <c>{"error":{"code","message"}}</c> (403 <c>Forbidden</c>, 404 <c>SecretNotFound</c>). Entra ID (with
/// <c>AZURE_AUTHORITY_HOST</c> pointing here; Azure.Identity's client secret credential asks for nothing but the
/// token, no instance discovery): <c>POST /TENANT/oauth2/v2.0/token</c> with <c>grant_type=client_credentials</c>, the client id and
/// secret and the scope <c>https://vault.azure.net/.default</c>, answering <c>{"token_type":"Bearer","expires_in",
/// "access_token"}</c> or <c>{"error":"invalid_client","error_description":"AADSTS7000215: …"}</c>.
/// </summary>
public sealed class FakeAzureKeyVaultServer : FakeVendorServer
{
    public const string Resource = "https://vault.azure.net";
    public const int PageSize = 2;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<(string Version, string Value, bool Enabled)>> _secrets = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _tokens = new(StringComparer.Ordinal);
    private readonly X509Certificate2 _certificate;
    private bool _forbidden;

    public FakeAzureKeyVaultServer(string tenantId, string clientId, string clientSecret)
    {
        TenantId = tenantId;
        ClientId = clientId;
        ClientSecret = clientSecret;
        (_certificate, CaCertificatePem) = CreateCertificates();
    }

    public string TenantId { get; }
    public string ClientId { get; }
    public string ClientSecret { get; }

    /// <summary>The test certificate authority that signed the server's certificate, as PEM (a client trusts it through <c>SSL_CERT_FILE</c>).</summary>
    public string CaCertificatePem { get; }

    /// <summary>The access tokens issued so far.</summary>
    public IReadOnlyCollection<string> IssuedTokens
    {
        get
        {
            lock (_lock)
            {
                return _tokens.ToArray();
            }
        }
    }

    protected override X509Certificate2 ServerCertificate => _certificate;

    /// <summary>Stores a new version of the secret <paramref name="name"/>; returns its version id.</summary>
    public string SetSecret(string name, string value, bool enabled = true)
    {
        var version = Guid.NewGuid().ToString("N");
        lock (_lock)
        {
            if (!_secrets.TryGetValue(name, out var versions))
            {
                _secrets[name] = versions = [];
            }

            versions.Add((version, value, enabled));
        }

        return version;
    }

    /// <summary>From now on, the vault's access policy refuses to list secrets (403 <c>Forbidden</c>).</summary>
    public void Forbid()
    {
        lock (_lock)
        {
            _forbidden = true;
        }
    }

    protected override string? Authenticate(HttpRequest request) => null;

    protected override void MapRoutes(WebApplication app)
    {
        app.MapPost("/{tenant}/oauth2/v2.0/token", Token);
        app.MapGet("/secrets", List);
        app.MapGet("/secrets/{name}", (HttpContext context, string name) => Get(context, name, null));
        app.MapGet("/secrets/{name}/{version}", Get);
    }

    protected override Task WriteErrorAsync(HttpContext context, int statusCode, string message)
    {
        var (code, text) = message.IndexOf(": ", StringComparison.Ordinal) is var at and > 0 ? (message[..at], message[(at + 2)..]) : ("InternalError", message);
        return WriteJsonAsync(context, statusCode, new JsonObject { ["error"] = new JsonObject { ["code"] = code, ["message"] = text } });
    }

    private string Root => BaseUrl.ToString().TrimEnd('/');

    private Task Token(HttpContext context, string tenant)
    {
        var form = Current(context).Form;
        string? problem = null;
        if (form.GetValueOrDefault("grant_type") != "client_credentials")
        {
            problem = "unsupported_grant_type|AADSTS70003: The app requested an unsupported grant type.";
        }
        else if (tenant != TenantId)
        {
            problem = $"invalid_tenant|AADSTS90002: Tenant '{tenant}' not found.";
        }
        else if (form.GetValueOrDefault("client_id") != ClientId || form.GetValueOrDefault("client_secret") != ClientSecret)
        {
            problem = $"invalid_client|AADSTS7000215: Invalid client secret provided for app '{form.GetValueOrDefault("client_id")}'.";
        }
        else if (form.GetValueOrDefault("scope") != Resource + "/.default")
        {
            problem = $"invalid_scope|AADSTS1002012: The provided value for scope {form.GetValueOrDefault("scope")} is not valid.";
        }

        if (problem is not null)
        {
            // Entra ID's error shape; invalid_client is a 401, the others a 400.
            var parts = problem.Split('|');
            var code = int.Parse(parts[1][6..parts[1].IndexOf(':', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture);
            return WriteJsonAsync(context, parts[0] == "invalid_client" ? 401 : 400, new JsonObject
            {
                ["error"] = parts[0],
                ["error_description"] = $"{parts[1]} Trace ID: {Guid.NewGuid()} Correlation ID: {Guid.NewGuid()} Timestamp: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ssZ}",
                ["error_codes"] = new JsonArray(code),
                ["timestamp"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd HH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
                ["trace_id"] = Guid.NewGuid().ToString(),
                ["correlation_id"] = Guid.NewGuid().ToString(),
                ["error_uri"] = $"{Root}/error?code={code}",
            });
        }

        var token = "fake-entra-access-token-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        lock (_lock)
        {
            _tokens.Add(token);
        }

        return WriteJsonAsync(context, 200, new JsonObject { ["token_type"] = "Bearer", ["expires_in"] = 3599, ["ext_expires_in"] = 3599, ["access_token"] = token });
    }

    private Task List(HttpContext context)
    {
        if (Challenge(context) is { } challenge)
        {
            return challenge;
        }

        lock (_lock)
        {
            if (_forbidden)
            {
                throw new BadVendorRequestException(403, $"Forbidden: The user, group or application 'appid={ClientId};iss={Root}/{TenantId}/' does not have secrets list permission on key vault '{BaseUrl.Host}'.");
            }
        }

        var skip = int.TryParse(context.Request.Query["$skiptoken"], out var n) ? n : 0;
        List<JsonNode> page;
        bool more;
        lock (_lock)
        {
            var all = _secrets.OrderBy(s => s.Key, StringComparer.OrdinalIgnoreCase).ToList();
            page = all.Skip(skip).Take(PageSize).Select(s => (JsonNode)new JsonObject
            {
                ["id"] = $"{Root}/secrets/{s.Key}",
                ["attributes"] = Attributes(s.Value[^1].Enabled),
            }).ToList();
            more = all.Count > skip + PageSize;
        }

        var apiVersion = context.Request.Query["api-version"].ToString();
        return WriteJsonAsync(context, 200, new JsonObject
        {
            ["value"] = new JsonArray([.. page]),
            ["nextLink"] = more ? $"{Root}/secrets?api-version={apiVersion}&$skiptoken={skip + PageSize}&maxresults={PageSize}" : null,
        });
    }

    private Task Get(HttpContext context, string name, string? version)
    {
        if (Challenge(context) is { } challenge)
        {
            return challenge;
        }

        (string Version, string Value, bool Enabled)? found;
        lock (_lock)
        {
            found = _secrets.TryGetValue(name, out var versions) ? (version is null ? versions[^1] : versions.FirstOrDefault(v => v.Version == version)) : null;
        }

        if (found is not { Version: not null } secret)
        {
            throw new BadVendorRequestException(404, $"SecretNotFound: A secret with (name/id) {name}{(version is null ? "" : "/" + version)} was not found in this key vault.");
        }

        if (!secret.Enabled)
        {
            throw new BadVendorRequestException(403, "Forbidden: Operation get is not allowed on a disabled secret.");
        }

        return WriteJsonAsync(context, 200, new JsonObject
        {
            ["value"] = secret.Value,
            ["id"] = $"{Root}/secrets/{name}/{secret.Version}",
            ["attributes"] = Attributes(true),
        });
    }

    /// <summary>The 401 challenge for a request without a known bearer token (and a 400 without <c>api-version</c>), or null to go on.</summary>
    private Task? Challenge(HttpContext context)
    {
        if (string.IsNullOrEmpty(context.Request.Query["api-version"]))
        {
            throw new BadVendorRequestException(400, "BadParameter: The 'api-version' query parameter is required.");
        }

        var authorization = context.Request.Headers.Authorization.ToString();
        bool known;
        lock (_lock)
        {
            known = authorization.StartsWith("Bearer ", StringComparison.Ordinal) && _tokens.Contains(authorization["Bearer ".Length..]);
        }

        if (known)
        {
            return null;
        }

        context.Response.Headers.WWWAuthenticate = $"Bearer authorization=\"{Root}/{TenantId}\", resource=\"{Resource}\"";
        return WriteErrorAsync(context, 401, "Unauthorized: AKV10000: Request is missing a Bearer or PoP token.");
    }

    private static JsonObject Attributes(bool enabled)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return new JsonObject { ["enabled"] = enabled, ["created"] = now, ["updated"] = now, ["recoveryLevel"] = "Recoverable+Purgeable", ["recoverableDays"] = 90 };
    }

    private static (X509Certificate2 Server, string CaPem) CreateCertificates()
    {
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=DevOrchestrator test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var signed = request.Create(ca, now.AddMinutes(-5), now.AddHours(12), RandomNumberGenerator.GetBytes(8));
        using var withKey = signed.CopyWithPrivateKey(serverKey);

        // Through PKCS#12, so that the key is not an ephemeral one that TLS cannot use.
        var server = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), password: null);
        return (server, ca.ExportCertificatePem());
    }
}
