using DevOrchestrator.Hosting.SecretStores;

namespace DevOrchestrator.UnitTests.Hosting;

public sealed class SecretStoreSettingsTests
{
    [Theory]
    [InlineData("secret/data/devorch", "secret", "devorch")]
    [InlineData("/kv/prod/data/teams/devorch/", "kv/prod", "teams/devorch")]
    public void A_kv_v2_api_path_splits_into_mount_and_path(string value, string mount, string path) =>
        Assert.Equal((mount, path), VaultSecretStore.SplitSecretPath(value));

    [Theory]
    [InlineData("secret/devorch")]
    [InlineData("data/devorch")]
    [InlineData("secret/data/")]
    [InlineData("secret//data/x")]
    public void A_path_without_the_data_segment_is_not_a_kv_v2_api_path(string value) =>
        Assert.Null(VaultSecretStore.SplitSecretPath(value));

    [Fact]
    public void No_store_configured_is_valid_and_enables_nothing()
    {
        var options = new SecretStoreOptions();
        Assert.True(new SecretStoreOptionsValidator().Validate(null, options).Succeeded);
        Assert.False(options.VaultEnabled || options.AwsEnabled || options.AzureEnabled);
    }

    [Fact]
    public void VAULT_URL_is_the_address_when_VAULT_ADDR_is_unset_and_messages_name_it()
    {
        var options = new SecretStoreOptions { VaultUrl = "vault:8200", VaultToken = "t", VaultSecretPath = "secret/data/x" };
        Assert.Equal("vault:8200", options.EffectiveVaultAddress);
        var result = new SecretStoreOptionsValidator().Validate(null, options);
        Assert.Contains(result.Failures!, f => f.StartsWith("VAULT_URL must be an http(s) URL", StringComparison.Ordinal));

        options.VaultAddress = "https://vault.example.test:8200";
        Assert.Equal("https://vault.example.test:8200", options.EffectiveVaultAddress);
        Assert.True(new SecretStoreOptionsValidator().Validate(null, options).Succeeded);
    }

    [Fact]
    public void Vault_settings_without_an_address_are_refused()
    {
        var result = new SecretStoreOptionsValidator().Validate(null, new SecretStoreOptions { VaultSecretPath = "secret/data/x" });
        Assert.Contains(result.Failures!, f => f.Contains("need VAULT_ADDR", StringComparison.Ordinal));
    }

    [Fact]
    public void Kubernetes_auth_needs_no_token()
    {
        var options = new SecretStoreOptions { VaultAddress = "http://vault:8200", VaultKubernetesRole = "devorch", VaultSecretPath = "secret/data/x" };
        Assert.True(new SecretStoreOptionsValidator().Validate(null, options).Succeeded);
    }

    [Theory]
    [InlineData("GITHUB-TOKEN", "GITHUB_TOKEN")]
    [InlineData("jira-api-token", "JIRA_API_TOKEN")]
    [InlineData("OPENAI2", "OPENAI2")]
    public void A_key_vault_secret_name_is_the_setting_with_dashes_as_underscores_upper_cased(string secret, string setting) =>
        Assert.Equal(setting, AzureKeyVaultStore.SettingName(secret));

    [Theory]
    [InlineData("https://devorch-prod.vault.azure.net/", true)]
    [InlineData("https://devorch.vault.usgovcloudapi.net/", true)]
    [InlineData("https://127.0.0.1:8443/", false)]
    [InlineData("https://vault.azure.net.example.test/", false)]
    public void Challenge_resource_verification_stays_on_for_key_vault_hosts_of_the_azure_clouds(string uri, bool cloud) =>
        Assert.Equal(cloud, AzureKeyVaultStore.IsCloudVault(new Uri(uri)));

    [Fact]
    public void Azure_key_vault_needs_an_https_uri_and_https_authority_and_a_client_secret_needs_tenant_and_client()
    {
        var options = new SecretStoreOptions { AzureKeyVaultUri = "https://devorch-prod.vault.azure.net/" };
        Assert.True(options.AzureEnabled);
        Assert.True(new SecretStoreOptionsValidator().Validate(null, options).Succeeded); // DefaultAzureCredential

        options.AzureAuthorityHost = "http://login.example.test/";
        options.AzureClientSecret = "s";
        options.AzureClientId = "c";
        var failures = new SecretStoreOptionsValidator().Validate(null, options).Failures!;
        Assert.Contains(failures, f => f.StartsWith("AZURE_AUTHORITY_HOST must be an https URL", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("AZURE_CLIENT_SECRET needs AZURE_TENANT_ID and AZURE_CLIENT_ID", StringComparison.Ordinal));
        Assert.DoesNotContain(failures, f => f.Contains("AZURE_KEY_VAULT_URI", StringComparison.Ordinal));
    }
}
