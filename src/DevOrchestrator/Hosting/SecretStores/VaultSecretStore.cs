using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DevOrchestrator.Hosting.SecretStores;

/// <summary>
/// HashiCorp Vault's KV v2 secrets engine through its HTTP API (no SDK): <c>GET /v1/MOUNT/data/PATH</c> with
/// <c>X-Vault-Token</c>; each key of <c>data.data</c> is a setting, <c>data.metadata.version</c> its version. The
/// token is <c>VAULT_TOKEN</c>, or one from Kubernetes auth (<c>POST /v1/auth/MOUNT/login</c> with the role and the
/// service account token), logged in again when two thirds of its lease have passed or when Vault refuses it.
/// </summary>
public sealed class VaultSecretStore : ISecretStore
{
    private readonly SecretStoreOptions _options;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly Uri _address;
    private readonly string _path;
    private readonly SemaphoreSlim _login = new(1, 1);
    private string? _token;
    private DateTimeOffset _loginAgainAt = DateTimeOffset.MaxValue;

    public VaultSecretStore(SecretStoreOptions options, HttpClient http, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(time);
        _options = options;
        _http = http;
        _time = time;
        var address = options.EffectiveVaultAddress!;
        _address = new Uri(address.EndsWith('/') ? address : address + "/", UriKind.Absolute);
        _path = options.VaultSecretPath!.Trim().Trim('/');
        _token = string.IsNullOrWhiteSpace(options.VaultToken) ? null : options.VaultToken.Trim();
    }

    public string Name => "vault:" + _path;

    public TimeSpan RefreshInterval => TimeSpan.FromSeconds(_options.VaultRefreshSeconds);

    private bool UsesKubernetes => string.IsNullOrWhiteSpace(_options.VaultToken);

    private string Where => $"{_options.VaultAddressVariable}={_address.GetLeftPart(UriPartial.Authority)}";

    /// <summary>The mount and the secret's path of a KV v2 API path <c>MOUNT/data/PATH</c>, or null when it is not one.</summary>
    public static (string Mount, string Path)? SplitSecretPath(string value)
    {
        var path = value.Trim().Trim('/');
        var at = path.IndexOf("/data/", StringComparison.Ordinal);
        return at <= 0 || at + 6 >= path.Length || path.Contains("//", StringComparison.Ordinal) ? null : (path[..at], path[(at + 6)..]);
    }

    public async Task<SecretStoreSnapshot> ReadAsync(CancellationToken cancellationToken)
    {
        var token = await TokenAsync(forceLogin: false, cancellationToken);
        using var response = await GetSecretAsync(token, cancellationToken);
        if (response.StatusCode == System.Net.HttpStatusCode.Forbidden && UsesKubernetes)
        {
            // The token was revoked or its lease ran out early: log in once more before giving up.
            token = await TokenAsync(forceLogin: true, cancellationToken);
            using var again = await GetSecretAsync(token, cancellationToken);
            return await SnapshotAsync(again, cancellationToken);
        }

        return await SnapshotAsync(response, cancellationToken);
    }

    public ValueTask DisposeAsync()
    {
        _login.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<HttpResponseMessage> GetSecretAsync(string token, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_address, "v1/" + string.Join('/', _path.Split('/').Select(Uri.EscapeDataString))));
        AddHeaders(request, token);
        return await SendAsync(request, $"reading {_path}", cancellationToken);
    }

    private async Task<SecretStoreSnapshot> SnapshotAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new SecretStoreException($"Vault ({Where}): reading VAULT_SECRET_PATH={_path} answered {(int)response.StatusCode} {response.ReasonPhrase}{await ErrorsAsync(response, cancellationToken)}");
        }

        var body = await ReadJsonAsync(response, $"reading {_path}", cancellationToken);
        if (body["data"]?["data"] is not JsonObject data)
        {
            throw new SecretStoreException($"Vault ({Where}): {_path} has no data.data object: is VAULT_SECRET_PATH a KV v2 secret (MOUNT/data/PATH)?");
        }

        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, node) in data)
        {
            if (node is not null)
            {
                values[key] = node is JsonValue value && value.TryGetValue<string>(out var text) ? text : node.ToJsonString();
            }
        }

        var version = body["data"]?["metadata"]?["version"] is JsonValue v && v.TryGetValue<long>(out var number) ? number.ToString(CultureInfo.InvariantCulture) : null;
        return new SecretStoreSnapshot(values, version);
    }

    private async Task<string> TokenAsync(bool forceLogin, CancellationToken cancellationToken)
    {
        if (!UsesKubernetes)
        {
            return _token!;
        }

        await _login.WaitAsync(cancellationToken);
        try
        {
            if (forceLogin || _token is null || _time.GetUtcNow() >= _loginAgainAt)
            {
                await LoginAsync(cancellationToken);
            }

            return _token!;
        }
        finally
        {
            _login.Release();
        }
    }

    private async Task LoginAsync(CancellationToken cancellationToken)
    {
        string jwt;
        try
        {
            jwt = (await File.ReadAllTextAsync(_options.VaultKubernetesTokenPath, cancellationToken)).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new SecretStoreException($"Vault ({Where}): cannot read the service account token VAULT_K8S_TOKEN_PATH={_options.VaultKubernetesTokenPath} ({ex.GetType().Name})", ex);
        }

        var mount = _options.VaultKubernetesMount.Trim().Trim('/');
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_address, $"v1/auth/{mount}/login"))
        {
            Content = JsonContent.Create(new JsonObject { ["role"] = _options.VaultKubernetesRole!.Trim(), ["jwt"] = jwt }),
        };
        AddHeaders(request, token: null);
        using var response = await SendAsync(request, $"logging in at auth/{mount}", cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new SecretStoreException($"Vault ({Where}): Kubernetes login at auth/{mount}/login as VAULT_K8S_ROLE={_options.VaultKubernetesRole} answered {(int)response.StatusCode} {response.ReasonPhrase}{await ErrorsAsync(response, cancellationToken)}");
        }

        var auth = (await ReadJsonAsync(response, $"logging in at auth/{mount}", cancellationToken))["auth"];
        if (auth?["client_token"] is not JsonValue tokenValue || !tokenValue.TryGetValue<string>(out var token) || token.Length == 0)
        {
            throw new SecretStoreException($"Vault ({Where}): the Kubernetes login at auth/{mount}/login returned no auth.client_token");
        }

        var lease = auth["lease_duration"] is JsonValue l && l.TryGetValue<long>(out var seconds) ? seconds : 0;
        _token = token;
        _loginAgainAt = lease > 0 ? _time.GetUtcNow().AddSeconds(lease * 2.0 / 3) : DateTimeOffset.MaxValue;
    }

    private void AddHeaders(HttpRequestMessage request, string? token)
    {
        if (token is not null)
        {
            request.Headers.Add("X-Vault-Token", token);
        }

        if (!string.IsNullOrWhiteSpace(_options.VaultNamespace))
        {
            request.Headers.Add("X-Vault-Namespace", _options.VaultNamespace.Trim());
        }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, string what, CancellationToken cancellationToken)
    {
        try
        {
            return await _http.SendAsync(request, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or Polly.Timeout.TimeoutRejectedException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new SecretStoreException($"Vault ({Where}): {what} failed, Vault could not be reached ({ex.Message})", ex);
        }
    }

    private async Task<JsonNode> ReadJsonAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        try
        {
            return await response.Content.ReadFromJsonAsync<JsonNode>(cancellationToken) ?? new JsonObject();
        }
        catch (JsonException)
        {
            throw new SecretStoreException($"Vault ({Where}): {what} answered {(int)response.StatusCode} with a body that is not JSON");
        }
    }

    /// <summary>Vault's <c>{"errors": [...]}</c> as <c>: permission denied</c> (its messages never carry the token).</summary>
    private static async Task<string> ErrorsAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var body = await response.Content.ReadFromJsonAsync<JsonNode>(cancellationToken);
            var errors = (body?["errors"] as JsonArray)?.Select(e => e?.ToString()).Where(e => !string.IsNullOrEmpty(e)).ToList() ?? [];
            var text = string.Join("; ", errors);
            return text.Length == 0 ? string.Empty : ": " + (text.Length > 300 ? text[..300] + "…" : text);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
        {
            return string.Empty;
        }
    }
}
