using System.Diagnostics;
using System.Net;
using DevOrchestrator.Cli;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.Hosting;
using DevOrchestrator.IntegrationTests.Infrastructure;
using DevOrchestrator.IntegrationTests.Integrations;

namespace DevOrchestrator.IntegrationTests.SecretStores;

/// <summary>
/// Azure Key Vault as a source of settings: the real <c>Azure.Security.KeyVault.Secrets</c> and <c>Azure.Identity</c>
/// in <c>devorch config show</c> and <c>devorch serve</c> processes, against <see cref="FakeAzureKeyVaultServer"/>
/// (Key Vault and the Entra ID token endpoint over HTTPS, its test CA trusted by the process through
/// <c>SSL_CERT_FILE</c>). What the processes sent to the fake is asserted.
/// </summary>
public sealed class AzureKeyVaultStoreTests : IAsyncLifetime
{
    private const string TenantId = "72f988bf-0000-4000-8000-00000000d0c5";
    private const string ClientId = "5f1a0c6e-0000-4000-8000-0000000c11e7";
    private const string ClientSecret = "test-entra-client-secret-not-real-91b2";
    private readonly string _directory = Directory.CreateTempSubdirectory("devorch-azure-").FullName;
    private readonly FakeAzureKeyVaultServer _vault = new(TenantId, ClientId, ClientSecret);
    private string _caFile = null!;

    public async ValueTask InitializeAsync()
    {
        await _vault.StartAsync(TestContext.Current.CancellationToken);
        _caFile = Path.Combine(_directory, "test-ca.pem");
        await File.WriteAllTextAsync(_caFile, _vault.CaCertificatePem, TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _vault.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private string VaultUri => _vault.BaseUrl.ToString();

    private Dictionary<string, string?> AzureEnvironment() => new()
    {
        ["AZURE_KEY_VAULT_URI"] = VaultUri,
        ["AZURE_TENANT_ID"] = TenantId,
        ["AZURE_CLIENT_ID"] = ClientId,
        ["AZURE_CLIENT_SECRET"] = ClientSecret,
        ["AZURE_AUTHORITY_HOST"] = VaultUri,
        ["SSL_CERT_FILE"] = _caFile,
    };

    [Fact]
    public async Task Every_enabled_secret_is_a_setting_named_with_underscores_read_with_an_entra_bearer_token_and_shown_masked()
    {
        _vault.SetSecret("GITHUB-TOKEN", "github-token-held-in-azure");
        _vault.SetSecret("JIRA-API-TOKEN", "jira-token-held-in-azure");
        _vault.SetSecret("jira-url", "https://jira-from-azure.example.test");
        _vault.SetSecret("SLACK-BOT-TOKEN", "disabled-slack-token-held-in-azure", enabled: false);
        var environment = AzureEnvironment();
        environment["GITHUB_TOKEN"] = "github-token-from-the-environment"; // the vault wins over the environment

        var (exitCode, stdout, stderr) = await DevorchAsync(environment, "config", "show");

        Assert.True(exitCode == 0, stderr + stdout);
        var source = "azure-key-vault:127.0.0.1";
        Assert.Equal((ConfigCommand.Masked, source), Line(stdout, "GITHUB_TOKEN"));
        Assert.Equal((ConfigCommand.Masked, source), Line(stdout, "JIRA_API_TOKEN"));
        Assert.Equal((ConfigCommand.Masked, source), Line(stdout, "JIRA_URL"));
        Assert.NotEqual(source, Line(stdout, "SLACK_BOT_TOKEN").Source);
        Assert.Equal((ConfigCommand.Masked, "environment"), Line(stdout, "AZURE_CLIENT_SECRET"));
        foreach (var secret in new[] { "held-in-azure", "jira-from-azure", ClientSecret })
        {
            Assert.DoesNotContain(secret, stdout + stderr, StringComparison.Ordinal);
        }

        // The client credentials grant at the tenant's token endpoint, for Key Vault's scope.
        var grant = Assert.Single(_vault.RequestsTo("POST", $"/{TenantId}/oauth2/v2.0/token"));
        Assert.Equal(("client_credentials", ClientId, ClientSecret, "https://vault.azure.net/.default"),
            (grant.Form["grant_type"], grant.Form["client_id"], grant.Form["client_secret"], grant.Form["scope"]));
        Assert.Equal(200, grant.StatusCode);
        var token = Assert.Single(_vault.IssuedTokens);

        // The SDK's first request is the unauthenticated one that gets the challenge; then every page and every read carries the token.
        var lists = _vault.RequestsTo("GET", "/secrets");
        Assert.Equal(401, lists[0].StatusCode);
        Assert.False(lists[0].Headers.ContainsKey("Authorization"));
        var authorized = _vault.Requests.Where(r => r.Path.StartsWith("/secrets", StringComparison.Ordinal) && r.StatusCode == 200).ToList();
        Assert.All(authorized, r => Assert.Equal("Bearer " + token, r.Headers["Authorization"]));
        Assert.Contains(lists, r => r.Query.Contains("$skiptoken=2", StringComparison.Ordinal) && r.StatusCode == 200); // followed nextLink
        Assert.Equal(["/secrets/GITHUB-TOKEN", "/secrets/JIRA-API-TOKEN", "/secrets/jira-url"],
            _vault.RequestsTo("GET", "/secrets/*").Select(r => r.Path).Order(StringComparer.Ordinal));
        Assert.All(_vault.Requests.Where(r => r.Path.StartsWith("/secrets", StringComparison.Ordinal)), r => Assert.Contains("api-version=", r.Query, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_refused_listing_a_wrong_client_secret_or_an_unreachable_vault_stops_the_start_naming_the_vault_and_the_status()
    {
        _vault.SetSecret("GITHUB-TOKEN", "github-token-held-in-azure");
        var where = $"Azure Key Vault (AZURE_KEY_VAULT_URI={VaultUri})";

        var wrongSecret = AzureEnvironment();
        wrongSecret["AZURE_CLIENT_SECRET"] = "test-entra-client-secret-wrong-0000";
        var (exitCode, _, stderr) = await DevorchAsync(wrongSecret, "config", "show");
        Assert.True(exitCode == ExitCodes.Usage, stderr);
        Assert.Contains($"{where}: listing the secrets needs a token from Microsoft Entra ID, which the client secret credential (AZURE_TENANT_ID={TenantId}, AZURE_CLIENT_ID={ClientId}) could not get", stderr, StringComparison.Ordinal);
        Assert.True(stderr.Contains("AADSTS7000215: Invalid client secret provided", StringComparison.Ordinal), stderr);
        Assert.DoesNotContain("test-entra-client-secret", stderr, StringComparison.Ordinal);

        _vault.Forbid();
        (exitCode, _, stderr) = await DevorchAsync(AzureEnvironment(), "config", "show");
        Assert.True(exitCode == ExitCodes.Usage, stderr);
        Assert.Contains($"{where}: listing the secrets answered 403 Forbidden: ", stderr, StringComparison.Ordinal);
        Assert.Contains("does not have secrets list permission", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(ClientSecret, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("fake-entra-access-token", stderr, StringComparison.Ordinal);

        var closed = AzureEnvironment();
        closed["AZURE_KEY_VAULT_URI"] = $"https://127.0.0.1:{ClosedPort()}/";
        (exitCode, _, stderr) = await DevorchAsync(closed, "config", "show");
        Assert.True(exitCode == ExitCodes.Usage, stderr);
        Assert.Contains($"Azure Key Vault (AZURE_KEY_VAULT_URI={closed["AZURE_KEY_VAULT_URI"]}): listing the secrets failed, the vault could not be reached", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(ClientSecret, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Malformed_azure_settings_are_refused_naming_each_variable()
    {
        var environment = AzureEnvironment();
        environment["AZURE_KEY_VAULT_URI"] = "http://devorch.vault.azure.net/";
        environment["AZURE_TENANT_ID"] = null;
        environment["AZURE_KEY_VAULT_REFRESH_SECONDS"] = "0";

        var (exitCode, _, stderr) = await DevorchAsync(environment, "config", "show");

        Assert.True(exitCode == ExitCodes.Usage, stderr);
        Assert.Contains("AZURE_KEY_VAULT_URI must be the vault's https URI", stderr, StringComparison.Ordinal);
        Assert.Contains("AZURE_CLIENT_SECRET needs AZURE_TENANT_ID and AZURE_CLIENT_ID", stderr, StringComparison.Ordinal);
        Assert.Contains("AZURE_KEY_VAULT_REFRESH_SECONDS must be between 1 and 86400", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(ClientSecret, stderr, StringComparison.Ordinal);
        Assert.Empty(_vault.Requests);
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task A_github_token_rotated_in_key_vault_reaches_github_on_the_next_call_without_a_restart(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var harness = await IntegrationsHarness.StartAsync(db, ct);
        var stale = "stale-github-token-" + Guid.NewGuid().ToString("N")[..8];
        _vault.SetSecret("GITHUB-TOKEN", stale);
        var environment = AzureEnvironment();
        environment["AZURE_KEY_VAULT_REFRESH_SECONDS"] = "1";
        environment["LOG_LEVEL"] = "info";
        await using var process = await harness.StartProcessAsync(db == Db.Postgres ? ServiceRole.Api : ServiceRole.All, ct, environment);
        using var client = process.ClientLike(harness.Client);

        Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync("/api/v1/plugins/version_control/github/check", new { })).StatusCode);
        Assert.Contains(harness.GitHub.RequestsTo("GET", "/api/v3/user"), r => r.Headers["Authorization"].EndsWith(" " + stale, StringComparison.Ordinal) && r.StatusCode == 401);

        // Rotated in Key Vault (a new version of the secret): the next call carries it, with no restart in between.
        _vault.SetSecret("GITHUB-TOKEN", IntegrationsHarness.GitHubToken);
        await HttpJson.EventuallyAsync(() => Task.FromResult(process.Output), o => o.Contains("Settings from azure-key-vault:127.0.0.1 changed", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
        harness.GitHub.ClearRequests();
        var check = await client.PostJsonAsync("/api/v1/plugins/version_control/github/check", new { });
        Assert.True(check.StatusCode == HttpStatusCode.OK, (await check.ReadJsonAsync()).ToJsonString());
        var after = harness.GitHub.RequestsTo("GET", "/api/v3/user");
        Assert.NotEmpty(after);
        Assert.All(after, r => Assert.Equal(("Token " + IntegrationsHarness.GitHubToken, 200), (r.Headers["Authorization"], r.StatusCode)));
        Assert.False(process.Process.HasExited, process.Output);
        Assert.Contains("GITHUB_TOKEN", process.Output, StringComparison.Ordinal);
        foreach (var secret in new[] { stale, IntegrationsHarness.GitHubToken, ClientSecret, "fake-entra-access-token" })
        {
            Assert.DoesNotContain(secret, process.Output, StringComparison.Ordinal);
        }

        // One token for the whole run: Azure.Identity caches it until it nears expiry.
        Assert.Single(_vault.IssuedTokens);
    }

    private async Task<(int ExitCode, string Stdout, string Stderr)> DevorchAsync(Dictionary<string, string?> environment, params string[] args)
    {
        var ct = TestContext.Current.CancellationToken;
        using var process = Process.Start(DevorchProcess.StartInfo(args, environment, _directory))!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromMinutes(2), ct);
        return (process.ExitCode, await stdout, await stderr);
    }

    private static (string Value, string Source) Line(string stdout, string key)
    {
        var line = stdout.Split('\n').Single(l => l.StartsWith(key + " ", StringComparison.Ordinal));
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (parts[1], parts[^1]);
    }

    private static int ClosedPort()
    {
        using var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
