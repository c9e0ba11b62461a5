using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon;
using Amazon.Runtime;
using Amazon.SimpleSystemsManagement;
using Amazon.SimpleSystemsManagement.Model;

namespace DevOrchestrator.Hosting.SecretStores;

/// <summary>
/// An AWS Secrets Manager secret read through Parameter Store's documented reference
/// <c>/aws/reference/secretsmanager/ID</c> (<c>GetParameter</c> with <c>WithDecryption</c>; the Secrets Manager SDK is
/// not served here). The secret holds a JSON object; each key is a setting. Credentials come from the SDK's default
/// chain (environment, profile, ECS task role, instance profile, web identity).
/// </summary>
public sealed class AwsSecretsManagerStore : ISecretStore
{
    public const string ReferencePrefix = "/aws/reference/secretsmanager/";

    private readonly SecretStoreOptions _options;
    private readonly AmazonSimpleSystemsManagementClient _client;
    private readonly string _secretId;

    public AwsSecretsManagerStore(SecretStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _secretId = options.AwsSecretId!.Trim();
        var config = new AmazonSimpleSystemsManagementConfig();
        var region = string.IsNullOrWhiteSpace(options.AwsRegion) ? null : options.AwsRegion.Trim();
        if (!string.IsNullOrWhiteSpace(options.AwsSsmEndpoint))
        {
            config.ServiceURL = options.AwsSsmEndpoint.Trim();
            config.AuthenticationRegion = region;
        }
        else if (region is not null)
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }

        _client = new AmazonSimpleSystemsManagementClient(config);
    }

    public string Name => "aws-secrets-manager:" + _secretId;

    public TimeSpan RefreshInterval => TimeSpan.FromSeconds(_options.AwsRefreshSeconds);

    private string Where => $"AWS_SECRETS_MANAGER_SECRET_ID={_secretId}" + (string.IsNullOrWhiteSpace(_options.AwsRegion) ? string.Empty : $", AWS_REGION={_options.AwsRegion.Trim()}");

    public async Task<SecretStoreSnapshot> ReadAsync(CancellationToken cancellationToken)
    {
        GetParameterResponse response;
        try
        {
            response = await _client.GetParameterAsync(new GetParameterRequest { Name = ReferencePrefix + _secretId, WithDecryption = true }, cancellationToken);
        }
        catch (AmazonServiceException ex)
        {
            throw new SecretStoreException($"AWS Secrets Manager ({Where}): GetParameter {ReferencePrefix}{_secretId} answered {(int)ex.StatusCode} {ex.ErrorCode}", ex);
        }
        catch (AmazonClientException ex)
        {
            // No credentials, no region, endpoint unreachable: the SDK's message names what is missing, never a secret.
            throw new SecretStoreException($"AWS Secrets Manager ({Where}): GetParameter {ReferencePrefix}{_secretId} failed: {ex.Message}", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new SecretStoreException($"AWS Secrets Manager ({Where}): Parameter Store could not be reached ({ex.Message})", ex);
        }

        return new SecretStoreSnapshot(Parse(response.Parameter?.Value), response.Parameter?.Version?.ToString(CultureInfo.InvariantCulture));
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }

    private Dictionary<string, string> Parse(string? secret)
    {
        JsonNode? node = null;
        try
        {
            node = secret is null ? null : JsonNode.Parse(secret);
        }
        catch (JsonException)
        {
        }

        if (node is not JsonObject json)
        {
            throw new SecretStoreException($"AWS Secrets Manager ({Where}): the secret must hold a JSON object of settings ({{\"GITHUB_TOKEN\": \"…\"}}), not a plain string");
        }

        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in json)
        {
            if (value is not null)
            {
                values[key] = value is JsonValue v && v.TryGetValue<string>(out var text) ? text : value.ToJsonString();
            }
        }

        return values;
    }
}
