using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Core;
using Azure.Identity;
using Azure.Security.KeyVault.Secrets;

namespace DevOrchestrator.Hosting.SecretStores;

/// <summary>
/// An Azure Key Vault read through <c>Azure.Security.KeyVault.Secrets</c>: every enabled secret of the vault is a
/// setting, its name with dashes as underscores, upper-cased (Key Vault names allow only letters, digits and dashes:
/// <c>GITHUB-TOKEN</c> is <c>GITHUB_TOKEN</c>). Credentials through <c>Azure.Identity</c>: a client secret credential
/// when <c>AZURE_CLIENT_SECRET</c> is set, else <c>DefaultAzureCredential</c> (workload identity, managed identity, the
/// Azure CLI…).
/// </summary>
public sealed class AzureKeyVaultStore : ISecretStore
{
    /// <summary>The hosts of Key Vault in the Azure clouds; the SDK checks a challenge's resource against them.</summary>
    private static readonly string[] CloudVaultSuffixes = [".vault.azure.net", ".vault.azure.cn", ".vault.usgovcloudapi.net", ".vault.microsoftazure.de"];

    private readonly SecretStoreOptions _options;
    private readonly SecretClient _client;
    private readonly Uri _vault;
    private readonly string _credential;

    public AzureKeyVaultStore(SecretStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _vault = new Uri(options.AzureKeyVaultUri!.Trim(), UriKind.Absolute);
        var clientOptions = new SecretClientOptions
        {
            // Key Vault's challenge names the resource a token is for (https://vault.azure.net); the SDK refuses a
            // resource whose domain is not the vault's. A vault under another name (a test's loopback server, a
            // proxy) needs the check off; a vault in an Azure cloud keeps it.
            DisableChallengeResourceVerification = !IsCloudVault(_vault),
        };
        clientOptions.Retry.MaxRetries = 2;
        clientOptions.Retry.NetworkTimeout = TimeSpan.FromSeconds(10);
        (var credential, _credential) = CreateCredential(options);
        _client = new SecretClient(_vault, credential, clientOptions);
    }

    public string Name => "azure-key-vault:" + _vault.Host;

    public TimeSpan RefreshInterval => TimeSpan.FromSeconds(_options.AzureRefreshSeconds);

    private string Where => $"AZURE_KEY_VAULT_URI={_vault.GetLeftPart(UriPartial.Authority)}/";

    /// <summary>The setting a Key Vault secret name stands for: <c>GITHUB-TOKEN</c> → <c>GITHUB_TOKEN</c>.</summary>
    public static string SettingName(string secretName)
    {
        ArgumentNullException.ThrowIfNull(secretName);
        return secretName.Replace('-', '_').ToUpperInvariant();
    }

    /// <summary>Whether <paramref name="vault"/> is a Key Vault host of an Azure cloud (<c>*.vault.azure.net</c> and the sovereign clouds').</summary>
    public static bool IsCloudVault(Uri vault)
    {
        ArgumentNullException.ThrowIfNull(vault);
        return CloudVaultSuffixes.Any(suffix => vault.Host.EndsWith(suffix, StringComparison.OrdinalIgnoreCase));
    }

    public async Task<SecretStoreSnapshot> ReadAsync(CancellationToken cancellationToken)
    {
        var names = new List<string>();
        await CallAsync("listing the secrets", async () =>
        {
            await foreach (var properties in _client.GetPropertiesOfSecretsAsync(cancellationToken))
            {
                // A disabled secret cannot be read; a managed one backs a Key Vault certificate, not a setting.
                if (properties.Enabled == true && properties.Managed != true)
                {
                    names.Add(properties.Name);
                }
            }
        }, cancellationToken);

        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var versions = new StringBuilder();
        foreach (var name in names.Order(StringComparer.OrdinalIgnoreCase))
        {
            var secret = await ReadSecretAsync(name, cancellationToken);
            if (secret is not null)
            {
                values[SettingName(name)] = secret.Value;
                versions.Append(name).Append('/').Append(secret.Properties.Version).Append('\n');
            }
        }

        return new SecretStoreSnapshot(values, Version(versions.ToString()));
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async Task<KeyVaultSecret?> ReadSecretAsync(string name, CancellationToken cancellationToken)
    {
        KeyVaultSecret? secret = null;
        try
        {
            await CallAsync($"reading the secret {name}", async () => secret = (await _client.GetSecretAsync(name, version: null, cancellationToken)).Value, cancellationToken);
        }
        catch (SecretStoreException ex) when (ex.InnerException is RequestFailedException { Status: 404 })
        {
            // Deleted between the list and the read: it is no longer a setting.
        }

        return secret;
    }

    private async Task CallAsync(string what, Func<Task> call, CancellationToken cancellationToken)
    {
        try
        {
            await call();
        }
        catch (RequestFailedException ex) when (ex.Status == 0)
        {
            throw new SecretStoreException($"Azure Key Vault ({Where}): {what} failed, the vault could not be reached ({FirstLine(ex.InnerException?.Message ?? ex.Message)})", ex);
        }
        catch (AggregateException ex) when (ex.InnerExceptions.All(e => e is RequestFailedException { Status: 0 }))
        {
            // Azure.Core's retry policy gives up on a connection failure with every attempt's exception.
            throw new SecretStoreException($"Azure Key Vault ({Where}): {what} failed, the vault could not be reached after {ex.InnerExceptions.Count} attempts ({FirstLine(ex.InnerExceptions[^1].Message)})", ex);
        }
        catch (RequestFailedException ex)
        {
            throw new SecretStoreException($"Azure Key Vault ({Where}): {what} answered {ex.Status} {ex.ErrorCode}: {FirstLine(ex.Message)}", ex);
        }
        catch (AuthenticationFailedException ex)
        {
            // Azure.Identity's message names the credential; MSAL's (the inner one) Entra ID's AADSTS error. Neither holds the secret.
            throw new SecretStoreException($"Azure Key Vault ({Where}): {what} needs a token from Microsoft Entra ID, which the {_credential} could not get: {OneLine(ex.Message)}{(ex.InnerException is { } inner and not AggregateException ? " " + OneLine(inner.Message) : "")}", ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SecretStoreException($"Azure Key Vault ({Where}): {what} timed out", ex);
        }
    }

    private static (TokenCredential Credential, string Description) CreateCredential(SecretStoreOptions options)
    {
        var authority = string.IsNullOrWhiteSpace(options.AzureAuthorityHost) ? null : new Uri(options.AzureAuthorityHost.Trim(), UriKind.Absolute);
        var tenant = string.IsNullOrWhiteSpace(options.AzureTenantId) ? null : options.AzureTenantId.Trim();
        var client = string.IsNullOrWhiteSpace(options.AzureClientId) ? null : options.AzureClientId.Trim();
        if (!string.IsNullOrWhiteSpace(options.AzureClientSecret))
        {
            var secretOptions = new ClientSecretCredentialOptions();
            if (authority is not null)
            {
                secretOptions.AuthorityHost = authority;
            }

            return (new ClientSecretCredential(tenant, client, options.AzureClientSecret.Trim(), secretOptions),
                $"client secret credential (AZURE_TENANT_ID={tenant}, AZURE_CLIENT_ID={client})");
        }

        var defaults = new DefaultAzureCredentialOptions { TenantId = tenant, ManagedIdentityClientId = client, WorkloadIdentityClientId = client };
        if (authority is not null)
        {
            defaults.AuthorityHost = authority;
        }

        return (new DefaultAzureCredential(defaults), "DefaultAzureCredential");
    }

    /// <summary>A short digest of the secrets' names and version ids: what the refresh log names as the store's version.</summary>
    private static string? Version(string versions) =>
        versions.Length == 0 ? null : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(versions)))[..12];

    /// <summary>The first line: Azure.Core's message goes on with the response's content and headers.</summary>
    private static string FirstLine(string message) => Shorten(message.Split('\n', 2)[0].Trim());

    /// <summary>Every line joined: Azure.Identity puts Entra ID's answer (or each credential's reason) on the lines after the first.</summary>
    private static string OneLine(string message) =>
        Shorten(string.Join(' ', message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)));

    private static string Shorten(string line) => line.Length > 500 ? line[..500] + "…" : line;
}
