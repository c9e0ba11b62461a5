using System.Diagnostics;
using System.Net;
using DevOrchestrator.Cli;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.Hosting;
using DevOrchestrator.IntegrationTests.Infrastructure;
using DevOrchestrator.IntegrationTests.Integrations;

namespace DevOrchestrator.IntegrationTests.SecretStores;

/// <summary>
/// AWS Secrets Manager through Parameter Store's <c>/aws/reference/secretsmanager/</c> references, read by the real
/// AWS SDK in <c>devorch config show</c> and <c>devorch serve</c> processes from <see cref="FakeAwsSsmServer"/>.
/// </summary>
public sealed class AwsSecretsManagerStoreTests : IAsyncLifetime
{
    private const string Region = "eu-west-1";
    private const string SecretId = "devorch/prod";
    private const string AccessKeyId = "test-access-key-id";
    private readonly string _directory = Directory.CreateTempSubdirectory("devorch-aws-").FullName;
    private readonly FakeAwsSsmServer _ssm = new(AccessKeyId, Region);

    public async ValueTask InitializeAsync() => await _ssm.StartAsync(TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _ssm.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private Dictionary<string, string?> AwsEnvironment(string secretId = SecretId) => new()
    {
        ["AWS_SECRETS_MANAGER_SECRET_ID"] = secretId,
        ["AWS_REGION"] = Region,
        ["AWS_ENDPOINT_URL_SSM"] = _ssm.BaseUrl.ToString().TrimEnd('/'),
        ["AWS_ACCESS_KEY_ID"] = AccessKeyId,
        ["AWS_SECRET_ACCESS_KEY"] = "test-secret-access-key-not-real",
        ["AWS_EC2_METADATA_DISABLED"] = "true",
    };

    [Fact]
    public async Task Each_key_of_the_secrets_json_object_is_a_setting_read_with_a_signed_GetParameter_with_decryption()
    {
        _ssm.PutSecret(SecretId, """{"GITHUB_TOKEN":"github-token-held-in-aws","JIRA_API_TOKEN":"jira-token-held-in-aws"}""");

        var (exitCode, stdout, stderr) = await DevorchAsync(AwsEnvironment(), "config", "show");

        Assert.True(exitCode == 0, stderr);
        Assert.Equal((ConfigCommand.Masked, "aws-secrets-manager:" + SecretId), Line(stdout, "GITHUB_TOKEN"));
        Assert.Equal((ConfigCommand.Masked, "aws-secrets-manager:" + SecretId), Line(stdout, "JIRA_API_TOKEN"));
        Assert.DoesNotContain("held-in-aws", stdout + stderr, StringComparison.Ordinal);
        var call = Assert.Single(_ssm.RequestsTo("POST", "/"));
        Assert.Equal("AmazonSSM.GetParameter", call.Headers["X-Amz-Target"]);
        Assert.StartsWith("application/x-amz-json-1.1", call.Headers["Content-Type"], StringComparison.Ordinal);
        Assert.StartsWith($"AWS4-HMAC-SHA256 Credential={AccessKeyId}/", call.Headers["Authorization"], StringComparison.Ordinal);
        Assert.Contains($"/{Region}/ssm/aws4_request", call.Headers["Authorization"], StringComparison.Ordinal);
        Assert.Equal("/aws/reference/secretsmanager/" + SecretId, call.Json!["Name"]!.ToString());
        Assert.True(call.Json["WithDecryption"]!.GetValue<bool>());
        Assert.Equal(200, call.StatusCode);
    }

    [Fact]
    public async Task A_missing_secret_a_plain_string_secret_or_unknown_credentials_stop_the_start_naming_the_secret_and_the_error()
    {
        var (exitCode, _, stderr) = await DevorchAsync(AwsEnvironment("devorch/missing"), "config", "show");
        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains("AWS Secrets Manager (AWS_SECRETS_MANAGER_SECRET_ID=devorch/missing, AWS_REGION=eu-west-1): GetParameter /aws/reference/secretsmanager/devorch/missing answered 400 ParameterNotFound", stderr, StringComparison.Ordinal);

        _ssm.PutSecret("devorch/plain", "just-a-token-not-an-object");
        (exitCode, _, stderr) = await DevorchAsync(AwsEnvironment("devorch/plain"), "config", "show");
        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains("the secret must hold a JSON object of settings", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("just-a-token", stderr, StringComparison.Ordinal);

        _ssm.PutSecret(SecretId, """{"GITHUB_TOKEN":"github-token-held-in-aws"}""");
        var stranger = AwsEnvironment();
        stranger["AWS_ACCESS_KEY_ID"] = "test-access-key-of-a-stranger";
        (exitCode, _, stderr) = await DevorchAsync(stranger, "config", "show");
        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains("answered 400 UnrecognizedClientException", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("test-secret-access-key-not-real", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_github_token_rotated_in_secrets_manager_reaches_github_on_the_next_call_without_a_restart()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var harness = await IntegrationsHarness.StartAsync(Db.Sqlite, ct);
        _ssm.PutSecret(SecretId, """{"GITHUB_TOKEN":"stale-github-token-in-aws"}""");
        var environment = AwsEnvironment();
        environment["AWS_SECRETS_MANAGER_REFRESH_SECONDS"] = "1";
        environment["LOG_LEVEL"] = "info";
        await using var process = await harness.StartProcessAsync(ServiceRole.All, ct, environment);
        using var client = process.ClientLike(harness.Client);

        Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync("/api/v1/plugins/version_control/github/check", new { })).StatusCode);
        Assert.Contains(harness.GitHub.RequestsTo("GET", "/api/v3/user"), r => r.Headers["Authorization"].EndsWith(" stale-github-token-in-aws", StringComparison.Ordinal) && r.StatusCode == 401);

        _ssm.PutSecret(SecretId, $$"""{"GITHUB_TOKEN":"{{IntegrationsHarness.GitHubToken}}"}""");
        await HttpJson.EventuallyAsync(() => Task.FromResult(process.Output), o => o.Contains("from version 1 to 2", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
        harness.GitHub.ClearRequests();
        Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync("/api/v1/plugins/version_control/github/check", new { })).StatusCode);
        var after = harness.GitHub.RequestsTo("GET", "/api/v3/user");
        Assert.NotEmpty(after);
        Assert.All(after, r => Assert.Equal(("Token " + IntegrationsHarness.GitHubToken, 200), (r.Headers["Authorization"], r.StatusCode)));
        Assert.DoesNotContain(IntegrationsHarness.GitHubToken, process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("stale-github-token-in-aws", process.Output, StringComparison.Ordinal);
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
}
