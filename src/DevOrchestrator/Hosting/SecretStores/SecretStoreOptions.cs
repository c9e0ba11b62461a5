namespace DevOrchestrator.Hosting.SecretStores;

/// <summary>
/// Where settings are read from besides the environment: HashiCorp Vault (KV v2), AWS Secrets Manager (through
/// Parameter Store's <c>/aws/reference/secretsmanager/</c> references) and Azure Key Vault. Each store is enabled by
/// its address setting; its keys become settings, read at start and again every refresh interval
/// (docs/security.md, "Secret stores"). These settings themselves come from the environment, <c>.env</c> or files,
/// never from a store.
/// </summary>
public sealed class SecretStoreOptions
{
    public const int DefaultRefreshSeconds = 300;
    public const string DefaultKubernetesTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token";
    public const string DefaultKubernetesMount = "kubernetes";

    /// <summary>Vault's address, e.g. <c>https://vault.example.com:8200</c> (the guide's <c>VAULT_URL</c> is read when this is unset).</summary>
    [ConfigurationKeyName("VAULT_ADDR")] public string? VaultAddress { get; set; }

    /// <summary>The guide's name for <see cref="VaultAddress"/>.</summary>
    [ConfigurationKeyName("VAULT_URL")] public string? VaultUrl { get; set; }

    /// <summary>A Vault token (or <c>VAULT_TOKEN_FILE</c>); leave unset for Kubernetes auth.</summary>
    [ConfigurationKeyName("VAULT_TOKEN")] public string? VaultToken { get; set; }

    /// <summary>Vault Enterprise namespace (sent as <c>X-Vault-Namespace</c>).</summary>
    [ConfigurationKeyName("VAULT_NAMESPACE")] public string? VaultNamespace { get; set; }

    /// <summary>The KV v2 secret as its API path: <c>MOUNT/data/PATH</c>, e.g. <c>secret/data/devorch</c>.</summary>
    [ConfigurationKeyName("VAULT_SECRET_PATH")] public string? VaultSecretPath { get; set; }

    /// <summary>The Vault role for Kubernetes auth (used when <c>VAULT_TOKEN</c> is unset).</summary>
    [ConfigurationKeyName("VAULT_K8S_ROLE")] public string? VaultKubernetesRole { get; set; }

    /// <summary>The pod's service account token, sent as the login's <c>jwt</c>.</summary>
    [ConfigurationKeyName("VAULT_K8S_TOKEN_PATH")] public string VaultKubernetesTokenPath { get; set; } = DefaultKubernetesTokenPath;

    /// <summary>Where the Kubernetes auth method is mounted: <c>POST /v1/auth/{mount}/login</c>.</summary>
    [ConfigurationKeyName("VAULT_K8S_MOUNT")] public string VaultKubernetesMount { get; set; } = DefaultKubernetesMount;

    [ConfigurationKeyName("VAULT_REFRESH_SECONDS")]
    public int VaultRefreshSeconds { get; set; } = DefaultRefreshSeconds;

    /// <summary>The Secrets Manager secret (name or ARN) read through Parameter Store; its JSON object's keys are settings.</summary>
    [ConfigurationKeyName("AWS_SECRETS_MANAGER_SECRET_ID")] public string? AwsSecretId { get; set; }

    /// <summary>The AWS region (the SDK's own resolution when unset: profile, instance metadata).</summary>
    [ConfigurationKeyName("AWS_REGION")] public string? AwsRegion { get; set; }

    /// <summary>Parameter Store endpoint override (the SDK's standard variable), e.g. a VPC endpoint.</summary>
    [ConfigurationKeyName("AWS_ENDPOINT_URL_SSM")] public string? AwsSsmEndpoint { get; set; }

    [ConfigurationKeyName("AWS_SECRETS_MANAGER_REFRESH_SECONDS")]
    public int AwsRefreshSeconds { get; set; } = DefaultRefreshSeconds;

    /// <summary>The Azure Key Vault's URI, e.g. <c>https://devorch-prod.vault.azure.net/</c>; each enabled secret is a setting (<c>GITHUB-TOKEN</c> is <c>GITHUB_TOKEN</c>).</summary>
    [ConfigurationKeyName("AZURE_KEY_VAULT_URI")] public string? AzureKeyVaultUri { get; set; }

    [ConfigurationKeyName("AZURE_KEY_VAULT_REFRESH_SECONDS")]
    public int AzureRefreshSeconds { get; set; } = DefaultRefreshSeconds;

    /// <summary>The Microsoft Entra tenant (Azure.Identity's standard variable): with a client secret, the tenant of the app registration.</summary>
    [ConfigurationKeyName("AZURE_TENANT_ID")] public string? AzureTenantId { get; set; }

    /// <summary>The app registration's client id with a client secret; without one, the user-assigned managed identity or workload identity to use.</summary>
    [ConfigurationKeyName("AZURE_CLIENT_ID")] public string? AzureClientId { get; set; }

    /// <summary>The app registration's client secret (or <c>AZURE_CLIENT_SECRET_FILE</c>); unset: <c>DefaultAzureCredential</c>.</summary>
    [ConfigurationKeyName("AZURE_CLIENT_SECRET")] public string? AzureClientSecret { get; set; }

    /// <summary>The Microsoft Entra authority (Azure.Identity's standard variable), e.g. <c>https://login.microsoftonline.us/</c> for Azure Government.</summary>
    [ConfigurationKeyName("AZURE_AUTHORITY_HOST")] public string? AzureAuthorityHost { get; set; }

    /// <summary>The Vault address in effect: <c>VAULT_ADDR</c>, else <c>VAULT_URL</c>.</summary>
    public string? EffectiveVaultAddress => string.IsNullOrWhiteSpace(VaultAddress) ? (string.IsNullOrWhiteSpace(VaultUrl) ? null : VaultUrl.Trim()) : VaultAddress.Trim();

    /// <summary>The name of the variable that gave the Vault address (for messages).</summary>
    public string VaultAddressVariable => string.IsNullOrWhiteSpace(VaultAddress) && !string.IsNullOrWhiteSpace(VaultUrl) ? "VAULT_URL" : "VAULT_ADDR";

    public bool VaultEnabled => EffectiveVaultAddress is not null;

    public bool AwsEnabled => !string.IsNullOrWhiteSpace(AwsSecretId);

    public bool AzureEnabled => !string.IsNullOrWhiteSpace(AzureKeyVaultUri);
}
