using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace DevOrchestrator.FakeVendors;

/// <summary>
/// A fake AWS Systems Manager Parameter Store speaking the AWS JSON 1.1 protocol for <c>AmazonSSM.GetParameter</c>:
/// <c>POST /</c> with <c>X-Amz-Target: AmazonSSM.GetParameter</c>, <c>Content-Type: application/x-amz-json-1.1</c>
/// and a SigV4 <c>Authorization</c> header (<c>AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/ssm/aws4_request,
/// SignedHeaders=…, Signature=…</c>) with <c>X-Amz-Date</c>; another access key is refused as AWS does
/// (<c>UnrecognizedClientException</c>). Serves Secrets Manager secrets through the documented reference names
/// <c>/aws/reference/secretsmanager/ID</c>, which need <c>WithDecryption: true</c>; errors are
/// <c>{"__type": …, "message": …}</c> with status 400.
/// </summary>
public sealed class FakeAwsSsmServer(string accessKeyId, string region) : FakeVendorServer
{
    private const string Reference = "/aws/reference/secretsmanager/";
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<string>> _secrets = new(StringComparer.Ordinal);

    public string AccessKeyId { get; } = accessKeyId;
    public string Region { get; } = region;

    /// <summary>Stores a new version of the Secrets Manager secret <paramref name="secretId"/>; returns its version number (1, 2, …).</summary>
    public int PutSecret(string secretId, string secretString)
    {
        lock (_lock)
        {
            if (!_secrets.TryGetValue(secretId, out var versions))
            {
                _secrets[secretId] = versions = [];
            }

            versions.Add(secretString);
            return versions.Count;
        }
    }

    protected override string? Authenticate(HttpRequest request) => null;

    protected override void MapRoutes(WebApplication app) => app.MapPost("/", Dispatch);

    protected override Task WriteErrorAsync(HttpContext context, int statusCode, string message)
    {
        var (type, text) = message.IndexOf(": ", StringComparison.Ordinal) is var at and > 0 ? (message[..at], message[(at + 2)..]) : ("InternalServerError", message);
        context.Response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
        return AwsJsonAsync(context, statusCode, new JsonObject { ["__type"] = type, ["message"] = text });
    }

    private Task Dispatch(HttpContext context)
    {
        var target = context.Request.Headers["X-Amz-Target"].ToString();
        if (!context.Request.ContentType?.StartsWith("application/x-amz-json-1.1", StringComparison.Ordinal) ?? true)
        {
            throw new BadVendorRequestException(400, "SerializationException: the content type must be application/x-amz-json-1.1");
        }

        CheckSignature(context.Request);
        return target == "AmazonSSM.GetParameter"
            ? GetParameter(context)
            : throw new BadVendorRequestException(400, $"UnknownOperationException: {target}");
    }

    private void CheckSignature(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        var scope = $"Credential={AccessKeyId}/";
        if (!authorization.StartsWith("AWS4-HMAC-SHA256 ", StringComparison.Ordinal) || !authorization.Contains("SignedHeaders=", StringComparison.Ordinal)
            || !authorization.Contains("Signature=", StringComparison.Ordinal) || string.IsNullOrEmpty(request.Headers["X-Amz-Date"]))
        {
            throw new BadVendorRequestException(400, "MissingAuthenticationTokenException: Missing Authentication Token");
        }

        if (!authorization.Contains(scope, StringComparison.Ordinal) || !authorization.Contains($"/{Region}/ssm/aws4_request", StringComparison.Ordinal))
        {
            throw new BadVendorRequestException(400, "UnrecognizedClientException: The security token included in the request is invalid.");
        }
    }

    private Task GetParameter(HttpContext context)
    {
        var body = JsonBody(context);
        Require(body, "Name");
        var name = body["Name"]!.ToString();
        if (!name.StartsWith(Reference, StringComparison.Ordinal))
        {
            throw new BadVendorRequestException(400, $"ParameterNotFound: Parameter {name} not found.");
        }

        if (body["WithDecryption"] is not JsonValue decryption || !decryption.TryGetValue<bool>(out var decrypt) || !decrypt)
        {
            throw new BadVendorRequestException(400, "ValidationException: WithDecryption flag must be True for retrieving a Secret Manager secret.");
        }

        var id = name[Reference.Length..];
        string value;
        int version;
        lock (_lock)
        {
            if (!_secrets.TryGetValue(id, out var versions))
            {
                throw new BadVendorRequestException(400, $"ParameterNotFound: Secrets Manager can't find the specified secret. (Service: AWSSecretsManager; Status Code: 400; Error Code: ResourceNotFoundException)");
            }

            (value, version) = (versions[^1], versions.Count);
        }

        var arn = $"arn:aws:secretsmanager:{Region}:123456789012:secret:{id}-AbCdEf";
        context.Response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
        return AwsJsonAsync(context, 200, new JsonObject
        {
            ["Parameter"] = new JsonObject
            {
                ["ARN"] = $"arn:aws:ssm:{Region}:123456789012:parameter{name}",
                ["DataType"] = "text",
                ["LastModifiedDate"] = Math.Round(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0, 3),
                ["Name"] = name,
                ["SourceResult"] = new JsonObject { ["ARN"] = arn, ["Name"] = id, ["VersionStages"] = new JsonArray("AWSCURRENT") }.ToJsonString(),
                ["Type"] = "SecureString",
                ["Value"] = value,
                ["Version"] = version,
            },
        });
    }

    private static Task AwsJsonAsync(HttpContext context, int statusCode, JsonNode body)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/x-amz-json-1.1";
        return context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
    }
}
