using System.Diagnostics;
using System.Net;
using DevOrchestrator.Cli;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.Hosting;
using DevOrchestrator.IntegrationTests.Infrastructure;
using DevOrchestrator.IntegrationTests.Integrations;

namespace DevOrchestrator.IntegrationTests.SecretStores;

/// <summary>
/// HashiCorp Vault (KV v2) as a source of settings, against <see cref="FakeVaultServer"/>: <c>devorch config show</c>
/// and <c>devorch serve</c> run as real processes; what they sent to the fake Vault and to the fake vendors is asserted.
/// </summary>
public sealed class VaultSecretStoreTests : IAsyncLifetime
{
    private const string VaultToken = "test-vault-token-not-real-7c1e";
    private const string SecretPath = "secret/data/devorch";
    /// <summary>Shaped as the Slack plugin's validation wants it, built at run time.</summary>
    private static readonly string SlackToken = "xox" + "b-fake-slack-token-held-in-vault";
    private readonly string _directory = Directory.CreateTempSubdirectory("devorch-vault-").FullName;
    private readonly FakeVaultServer _vault = new();

    public async ValueTask InitializeAsync()
    {
        await _vault.StartAsync(TestContext.Current.CancellationToken);
        _vault.AddToken(VaultToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _vault.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private string VaultAddress => _vault.BaseUrl.ToString().TrimEnd('/');

    private Dictionary<string, string> VaultEnvironment(string path = SecretPath) => new()
    {
        ["VAULT_ADDR"] = VaultAddress,
        ["VAULT_TOKEN"] = VaultToken,
        ["VAULT_SECRET_PATH"] = path,
    };

    [Fact]
    public async Task Config_show_reads_each_key_of_the_secret_as_a_setting_and_names_vault_and_the_path_as_its_source_masked()
    {
        _vault.WriteSecret("secret", "devorch", new Dictionary<string, string>
        {
            ["GITHUB_TOKEN"] = "github-token-held-in-vault",
            ["JIRA_URL"] = "https://jira-from-vault.example.test",
            ["JWT_SECRET_KEY"] = "a-jwt-secret-held-in-vault-long-enough-for-validation",
        });
        var environment = VaultEnvironment();
        environment["GITHUB_TOKEN"] = "github-token-from-the-environment"; // Vault wins over the environment

        var (exitCode, stdout, stderr) = await DevorchAsync(environment, "config", "show");

        Assert.True(exitCode == 0, stderr);
        Assert.Equal((ConfigCommand.Masked, "vault:" + SecretPath), Line(stdout, "GITHUB_TOKEN"));
        Assert.Equal((ConfigCommand.Masked, "vault:" + SecretPath), Line(stdout, "JIRA_URL"));
        Assert.Equal((ConfigCommand.Masked, "vault:" + SecretPath), Line(stdout, "JWT_SECRET_KEY"));
        Assert.Equal((ConfigCommand.Masked, "environment"), Line(stdout, "VAULT_TOKEN"));
        Assert.Equal((VaultAddress, "environment"), Line(stdout, "VAULT_ADDR"));
        foreach (var secret in new[] { "github-token-held-in-vault", "jira-from-vault", "a-jwt-secret-held", VaultToken })
        {
            Assert.DoesNotContain(secret, stdout + stderr, StringComparison.Ordinal);
        }

        var read = Assert.Single(_vault.RequestsTo("GET", "/v1/secret/data/devorch"));
        Assert.Equal(VaultToken, read.Headers["X-Vault-Token"]);
        Assert.Equal(200, read.StatusCode);
    }

    [Fact]
    public async Task The_guides_VAULT_URL_and_a_token_from_VAULT_TOKEN_FILE_are_accepted()
    {
        _vault.WriteSecret("secret", "devorch", new Dictionary<string, string> { ["SLACK_BOT_TOKEN"] = SlackToken });
        var tokenFile = Path.Combine(_directory, "vault-token");
        await File.WriteAllTextAsync(tokenFile, VaultToken + "\n", TestContext.Current.CancellationToken);

        var (exitCode, stdout, stderr) = await DevorchAsync(new()
        {
            ["VAULT_URL"] = VaultAddress,
            ["VAULT_TOKEN_FILE"] = tokenFile,
            ["VAULT_SECRET_PATH"] = "/" + SecretPath + "/",
        }, "config", "show");

        Assert.True(exitCode == 0, stderr);
        Assert.Equal((ConfigCommand.Masked, "vault:" + SecretPath), Line(stdout, "SLACK_BOT_TOKEN"));
        Assert.Equal(VaultToken, Assert.Single(_vault.RequestsTo("GET", "/v1/secret/data/devorch")).Headers["X-Vault-Token"]);
    }

    [Fact]
    public async Task A_secret_vault_refuses_does_not_have_or_cannot_be_reached_stops_the_start_naming_address_path_and_status_never_the_token()
    {
        _vault.WriteSecret("secret", "devorch", new Dictionary<string, string> { ["GITHUB_TOKEN"] = "github-token-held-in-vault" });
        const string narrowToken = "test-vault-token-for-another-path";
        _vault.AddToken(narrowToken, "secret/data/other-app");

        // 403: the token's policy does not cover the path.
        var forbidden = VaultEnvironment();
        forbidden["VAULT_TOKEN"] = narrowToken;
        var (exitCode, _, stderr) = await DevorchAsync(forbidden, "config", "show");
        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains($"Vault (VAULT_ADDR={VaultAddress}): reading VAULT_SECRET_PATH={SecretPath} answered 403 Forbidden: permission denied", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(narrowToken, stderr, StringComparison.Ordinal);

        // 404: nothing at the path.
        (exitCode, _, stderr) = await DevorchAsync(VaultEnvironment("secret/data/missing"), "config", "show");
        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains($"reading VAULT_SECRET_PATH=secret/data/missing answered 404 Not Found", stderr, StringComparison.Ordinal);

        // Unreachable: a port nobody listens on (after the resilience handler's retries).
        var closed = VaultEnvironment();
        closed["VAULT_ADDR"] = $"http://127.0.0.1:{ClosedPort()}";
        (exitCode, _, stderr) = await DevorchAsync(closed, "config", "show");
        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains($"Vault (VAULT_ADDR={closed["VAULT_ADDR"]}): reading {SecretPath} failed, Vault could not be reached", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(VaultToken, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Incomplete_or_malformed_vault_settings_are_refused_naming_each_variable()
    {
        var (exitCode, _, stderr) = await DevorchAsync(new() { ["VAULT_ADDR"] = VaultAddress }, "config", "show");
        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains("VAULT_SECRET_PATH is required with VAULT_ADDR", stderr, StringComparison.Ordinal);
        Assert.Contains("VAULT_ADDR needs a way to log in: VAULT_TOKEN (or VAULT_TOKEN_FILE), or VAULT_K8S_ROLE", stderr, StringComparison.Ordinal);

        (exitCode, _, stderr) = await DevorchAsync(new()
        {
            ["VAULT_ADDR"] = "vault.internal:8200",
            ["VAULT_TOKEN"] = VaultToken,
            ["VAULT_SECRET_PATH"] = "secret/devorch",
            ["VAULT_REFRESH_SECONDS"] = "0",
        }, "config", "show");
        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains("VAULT_ADDR must be an http(s) URL", stderr, StringComparison.Ordinal);
        Assert.Contains("VAULT_SECRET_PATH must be the KV v2 API path MOUNT/data/PATH, e.g. secret/data/devorch (got secret/devorch)", stderr, StringComparison.Ordinal);
        Assert.Contains("VAULT_REFRESH_SECONDS must be between 1 and 86400", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(VaultToken, stderr, StringComparison.Ordinal);
        Assert.Empty(_vault.Requests);
    }

    [Fact]
    public async Task Kubernetes_auth_logs_in_with_the_role_and_the_service_account_token_and_reads_with_the_token_it_got()
    {
        _vault.WriteSecret("secret", "devorch", new Dictionary<string, string> { ["GITHUB_TOKEN"] = "github-token-held-in-vault" });
        var jwt = "test-service-account-jwt-" + Guid.NewGuid().ToString("N");
        _vault.AddKubernetesRole("devorch", jwt, leaseSeconds: 3600, mount: "k8s-prod", paths: SecretPath);
        var jwtFile = Path.Combine(_directory, "sa-token");
        await File.WriteAllTextAsync(jwtFile, jwt, TestContext.Current.CancellationToken);

        var (exitCode, stdout, stderr) = await DevorchAsync(new()
        {
            ["VAULT_ADDR"] = VaultAddress,
            ["VAULT_K8S_ROLE"] = "devorch",
            ["VAULT_K8S_MOUNT"] = "k8s-prod",
            ["VAULT_K8S_TOKEN_PATH"] = jwtFile,
            ["VAULT_SECRET_PATH"] = SecretPath,
        }, "config", "show");

        Assert.True(exitCode == 0, stderr);
        Assert.Equal((ConfigCommand.Masked, "vault:" + SecretPath), Line(stdout, "GITHUB_TOKEN"));
        var login = Assert.Single(_vault.RequestsTo("POST", "/v1/auth/k8s-prod/login"));
        Assert.Equal("devorch", login.Json!["role"]!.ToString());
        Assert.Equal(jwt, login.Json["jwt"]!.ToString());
        var read = Assert.Single(_vault.RequestsTo("GET", "/v1/secret/data/devorch"));
        Assert.Equal(Assert.Single(_vault.IssuedTokens), read.Headers["X-Vault-Token"]);
        Assert.DoesNotContain(jwt, stdout + stderr, StringComparison.Ordinal);

        // A wrong role is a start-up error naming the role and the status.
        (exitCode, _, stderr) = await DevorchAsync(new()
        {
            ["VAULT_ADDR"] = VaultAddress,
            ["VAULT_K8S_ROLE"] = "nobody",
            ["VAULT_K8S_MOUNT"] = "k8s-prod",
            ["VAULT_K8S_TOKEN_PATH"] = jwtFile,
            ["VAULT_SECRET_PATH"] = SecretPath,
        }, "config", "show");
        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains("Kubernetes login at auth/k8s-prod/login as VAULT_K8S_ROLE=nobody answered 400", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(jwt, stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task A_github_token_rotated_in_vault_reaches_github_on_the_next_call_without_a_restart(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var harness = await IntegrationsHarness.StartAsync(db, ct);
        var stale = "stale-github-token-" + Guid.NewGuid().ToString("N")[..8];
        _vault.WriteSecret("secret", "devorch", new Dictionary<string, string> { ["GITHUB_TOKEN"] = stale });
        var environment = new Dictionary<string, string?>(VaultEnvironment().Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)))
        {
            ["VAULT_REFRESH_SECONDS"] = "1",
            ["LOG_LEVEL"] = "info",
            // The environment keeps the harness's good token: Vault's value wins over it.
        };
        await using var process = await harness.StartProcessAsync(db == Db.Postgres ? ServiceRole.Api : ServiceRole.All, ct, environment);
        using var client = process.ClientLike(harness.Client);

        Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync("/api/v1/plugins/version_control/github/check", new { })).StatusCode);
        var before = harness.GitHub.RequestsTo("GET", "/api/v3/user");
        Assert.Contains(before, r => r.Headers["Authorization"].EndsWith(" " + stale, StringComparison.Ordinal) && r.StatusCode == 401);

        // Rotated in Vault (a new version): the next call carries the new token, with no restart in between.
        Assert.Equal(2, _vault.WriteSecret("secret", "devorch", new Dictionary<string, string> { ["GITHUB_TOKEN"] = IntegrationsHarness.GitHubToken }));
        await HttpJson.EventuallyAsync(() => Task.FromResult(process.Output), o => o.Contains("from version 1 to 2", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
        harness.GitHub.ClearRequests();
        var check = await client.PostJsonAsync("/api/v1/plugins/version_control/github/check", new { });
        var body = await check.ReadJsonAsync();
        Assert.True(check.StatusCode == HttpStatusCode.OK, body.ToJsonString());
        var after = harness.GitHub.RequestsTo("GET", "/api/v3/user");
        Assert.NotEmpty(after);
        Assert.All(after, r => Assert.EndsWith(" " + IntegrationsHarness.GitHubToken, r.Headers["Authorization"], StringComparison.Ordinal));
        Assert.All(after, r => Assert.Equal(200, r.StatusCode));
        Assert.False(process.Process.HasExited, process.Output);
        Assert.Contains("GITHUB_TOKEN", process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(stale, process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(IntegrationsHarness.GitHubToken, process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(VaultToken, process.Output, StringComparison.Ordinal);
        Assert.True(_vault.RequestsTo("GET", "/v1/secret/data/devorch").Count >= 2);
    }

    [Fact]
    public async Task A_kubernetes_token_is_renewed_by_logging_in_again_before_its_lease_runs_out_and_serve_keeps_reading()
    {
        var ct = TestContext.Current.CancellationToken;
        _vault.WriteSecret("secret", "devorch", new Dictionary<string, string> { ["SLACK_BOT_TOKEN"] = SlackToken });
        var jwt = "test-service-account-jwt-" + Guid.NewGuid().ToString("N");
        _vault.AddKubernetesRole("devorch", jwt, leaseSeconds: 9, paths: SecretPath);
        var jwtFile = Path.Combine(_directory, "sa-token");
        await File.WriteAllTextAsync(jwtFile, jwt, ct);
        await using var harness = await IntegrationsHarness.StartAsync(Db.Sqlite, ct);
        await using var process = await harness.StartProcessAsync(ServiceRole.All, ct, new Dictionary<string, string?>
        {
            ["VAULT_ADDR"] = VaultAddress,
            ["VAULT_K8S_ROLE"] = "devorch",
            ["VAULT_K8S_TOKEN_PATH"] = jwtFile,
            ["VAULT_SECRET_PATH"] = SecretPath,
            ["VAULT_REFRESH_SECONDS"] = "1",
        });

        // Over three leases, every read is answered 200: the token is replaced after two thirds of its lease (6 s of 9:
        // a margin of 3 s for a busy machine).
        await HttpJson.EventuallyAsync(() => Task.FromResult(_vault.IssuedTokens.Count), n => n >= 3, TimeSpan.FromSeconds(60));
        var reads = _vault.RequestsTo("GET", "/v1/secret/data/devorch");
        Assert.True(reads.Count >= 6, string.Join("\n", reads));
        Assert.All(reads, r => Assert.Equal(200, r.StatusCode));
        Assert.Equal(_vault.IssuedTokens.Count, _vault.RequestsTo("POST", "/v1/auth/kubernetes/login").Count);
        Assert.DoesNotContain("could not be refreshed", process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_does_not_start_when_vault_refuses_the_token_and_says_why()
    {
        var environment = VaultEnvironment();
        environment["VAULT_TOKEN"] = "test-vault-token-that-was-revoked";
        environment["DATA_DIR"] = Path.Combine(_directory, "data");

        var (exitCode, stdout, stderr) = await DevorchAsync(environment, "serve", "--urls", "http://127.0.0.1:0");

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains($"Vault (VAULT_ADDR={VaultAddress}): reading VAULT_SECRET_PATH={SecretPath} answered 403 Forbidden: permission denied", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("test-vault-token-that-was-revoked", stdout + stderr, StringComparison.Ordinal);
    }

    private async Task<(int ExitCode, string Stdout, string Stderr)> DevorchAsync(Dictionary<string, string> environment, params string[] args)
    {
        var ct = TestContext.Current.CancellationToken;
        var start = DevorchProcess.StartInfo(args, environment.Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)), _directory);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

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
