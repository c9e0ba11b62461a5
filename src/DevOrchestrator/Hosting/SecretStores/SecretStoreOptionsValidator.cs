using Microsoft.Extensions.Options;

namespace DevOrchestrator.Hosting.SecretStores;

/// <summary>The secret store settings' rules: refresh intervals in range, an enabled store has what it needs, addresses are absolute URLs.</summary>
public sealed class SecretStoreOptionsValidator : IValidateOptions<SecretStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, SecretStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        foreach (var (variable, seconds) in new[] { ("VAULT_REFRESH_SECONDS", options.VaultRefreshSeconds), ("AWS_SECRETS_MANAGER_REFRESH_SECONDS", options.AwsRefreshSeconds), ("AZURE_KEY_VAULT_REFRESH_SECONDS", options.AzureRefreshSeconds) })
        {
            if (seconds is < 1 or > 86400)
            {
                failures.Add($"{variable} must be between 1 and 86400 (got {seconds}).");
            }
        }

        if (options.VaultEnabled)
        {
            ValidateVault(options, failures);
        }
        else if (!string.IsNullOrWhiteSpace(options.VaultSecretPath) || !string.IsNullOrWhiteSpace(options.VaultKubernetesRole))
        {
            failures.Add("VAULT_SECRET_PATH and VAULT_K8S_ROLE need VAULT_ADDR (the Vault server's address, e.g. https://vault.example.com:8200).");
        }

        if (options.AwsEnabled && !string.IsNullOrWhiteSpace(options.AwsSsmEndpoint) && !IsHttpUrl(options.AwsSsmEndpoint))
        {
            failures.Add($"AWS_ENDPOINT_URL_SSM must be an http(s) URL (got {options.AwsSsmEndpoint}).");
        }

        if (options.AzureEnabled)
        {
            ValidateAzure(options, failures);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateVault(SecretStoreOptions options, List<string> failures)
    {
        if (!IsHttpUrl(options.EffectiveVaultAddress!))
        {
            failures.Add($"{options.VaultAddressVariable} must be an http(s) URL such as https://vault.example.com:8200 (got {options.EffectiveVaultAddress}).");
        }

        if (string.IsNullOrWhiteSpace(options.VaultSecretPath))
        {
            failures.Add("VAULT_SECRET_PATH is required with VAULT_ADDR: the KV v2 API path MOUNT/data/PATH, e.g. secret/data/devorch.");
        }
        else if (VaultSecretStore.SplitSecretPath(options.VaultSecretPath) is null)
        {
            failures.Add($"VAULT_SECRET_PATH must be the KV v2 API path MOUNT/data/PATH, e.g. secret/data/devorch (got {options.VaultSecretPath}).");
        }

        if (string.IsNullOrWhiteSpace(options.VaultToken) && string.IsNullOrWhiteSpace(options.VaultKubernetesRole))
        {
            failures.Add("VAULT_ADDR needs a way to log in: VAULT_TOKEN (or VAULT_TOKEN_FILE), or VAULT_K8S_ROLE for Kubernetes auth.");
        }

        if (string.IsNullOrWhiteSpace(options.VaultKubernetesMount) || options.VaultKubernetesMount.Contains("..", StringComparison.Ordinal))
        {
            failures.Add("VAULT_K8S_MOUNT must be the auth method's mount path, e.g. kubernetes.");
        }
    }

    private static void ValidateAzure(SecretStoreOptions options, List<string> failures)
    {
        if (!Uri.TryCreate(options.AzureKeyVaultUri!.Trim(), UriKind.Absolute, out var vault) || vault.Scheme != "https")
        {
            failures.Add($"AZURE_KEY_VAULT_URI must be the vault's https URI such as https://devorch-prod.vault.azure.net/ (got {options.AzureKeyVaultUri}).");
        }

        if (!string.IsNullOrWhiteSpace(options.AzureAuthorityHost)
            && (!Uri.TryCreate(options.AzureAuthorityHost.Trim(), UriKind.Absolute, out var authority) || authority.Scheme != "https"))
        {
            failures.Add($"AZURE_AUTHORITY_HOST must be an https URL such as https://login.microsoftonline.com/ (got {options.AzureAuthorityHost}).");
        }

        if (!string.IsNullOrWhiteSpace(options.AzureClientSecret)
            && (string.IsNullOrWhiteSpace(options.AzureTenantId) || string.IsNullOrWhiteSpace(options.AzureClientId)))
        {
            failures.Add("AZURE_CLIENT_SECRET needs AZURE_TENANT_ID and AZURE_CLIENT_ID (the app registration's tenant and client id).");
        }
    }

    private static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https";
}
