using System.Net;
using System.Text.Json.Nodes;
using DevOrchestrator.IntegrationTests.Infrastructure;

namespace DevOrchestrator.IntegrationTests.Api;

/// <summary>
/// The OpenAPI document is the API's contract: committed as <c>docs/openapi.json</c> (the typed client of
/// <c>tests/DevOrchestrator.ApiClient</c> is generated from it), served at <c>/openapi.json</c> and
/// <c>/openapi/v1.json</c>, drawn at <c>/docs</c> and <c>/redoc</c>. Every response of the API tests is checked against
/// it by <see cref="OpenApiResponseCheck"/>.
/// </summary>
public sealed class OpenApiDocumentTests
{
    /// <summary>Set to 1 to rewrite docs/openapi.json from the running app instead of comparing.</summary>
    public const string RefreshVariable = "DEVORCH_REFRESH_OPENAPI";

    [Fact]
    public async Task The_committed_contract_is_the_document_the_app_serves()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(Db.Sqlite, cancellationToken: ct);
        var live = JsonNode.Parse(await service.Client.GetStringAsync("/openapi.json", ct))!;
        var path = Path.Combine(RepositoryRoot(), "docs", "openapi.json");
        var text = live.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n";
        if (Environment.GetEnvironmentVariable(RefreshVariable) == "1")
        {
            await File.WriteAllTextAsync(path, text, ct);
            return;
        }

        Assert.True(File.Exists(path), $"docs/openapi.json is missing; create it with: {RefreshVariable}=1 dotnet test tests/DevOrchestrator.IntegrationTests --filter FullyQualifiedName~OpenApiDocumentTests");
        var committed = JsonNode.Parse(await File.ReadAllTextAsync(path, ct))!;
        Assert.True(JsonNode.DeepEquals(committed, live),
            "docs/openapi.json differs from the document the app serves (an API change). Review the change, then refresh the file with:\n" +
            $"  {RefreshVariable}=1 dotnet test tests/DevOrchestrator.IntegrationTests --filter FullyQualifiedName~OpenApiDocumentTests\n" +
            "and rebuild: the typed client in tests/DevOrchestrator.ApiClient is generated from it.");
    }

    [Fact]
    public async Task The_document_declares_security_errors_enums_and_query_limits()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(Db.Sqlite, cancellationToken: ct);
        var document = JsonNode.Parse(await service.Client.GetStringAsync("/openapi.json", ct))!.AsObject();
        Assert.Equal(document.ToJsonString(), JsonNode.Parse(await service.Client.GetStringAsync("/openapi/v1.json", ct))!.ToJsonString());
        Assert.StartsWith("3.1", (string)document["openapi"]!, StringComparison.Ordinal);

        var bearer = document["components"]!["securitySchemes"]!["bearer"]!;
        Assert.Equal("http", (string?)bearer["type"]);
        Assert.Equal("bearer", (string?)bearer["scheme"]);
        Assert.Equal("JWT or API key", (string?)bearer["bearerFormat"]);

        var operations = document["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject().Where(o => o.Value is JsonObject { } op && op.ContainsKey("responses")).Select(o => (Path: p.Key, Method: o.Key, Operation: o.Value!.AsObject())))
            .ToList();
        Assert.NotEmpty(operations);
        foreach (var (path, method, operation) in operations)
        {
            var anonymous = path.StartsWith("/health", StringComparison.Ordinal) || path == "/api/v1/health" || path == "/api/v1/auth/login" || path.StartsWith("/webhooks/", StringComparison.Ordinal);
            Assert.True(anonymous != operation.ContainsKey("security"), $"{method} {path}: security {(anonymous ? "on an anonymous route" : "missing")}");
            var responses = operation["responses"]!.AsObject();
            Assert.True(responses.Any(r => r.Key.StartsWith('2')), $"{method} {path} declares no success response");
            foreach (var (status, response) in responses.Where(r => r.Key[0] is '4' or '5'))
            {
                var reference = (string?)response!["content"]?["application/json"]?["schema"]?["$ref"];
                if (!(path.Contains("health", StringComparison.Ordinal) && status == "503"))
                {
                    Assert.True(reference == "#/components/schemas/ApiErrorResponse", $"{method} {path} {status} is not the error envelope: {response.ToJsonString()}");
                }
            }

            foreach (var required in new[] { "400", "422", "500", "503" })
            {
                Assert.True(responses.ContainsKey(required), $"{method} {path} does not declare {required}");
            }

            if (!anonymous)
            {
                Assert.True(responses.ContainsKey("401") && responses.ContainsKey("403"), $"{method} {path} does not declare 401 and 403");
            }
        }

        var taskList = document["paths"]!["/api/v1/tasks"]!["get"]!["parameters"]!.AsArray().ToDictionary(p => (string)p!["name"]!, p => p!);
        Assert.Equal(["kind", "order", "page", "parent_id", "per_page", "project_id", "sort", "source", "status"], taskList.Keys.Order());
        Assert.Equal("integer", (string?)taskList["per_page"]["schema"]!["type"]);
        Assert.Equal(200, (int)taskList["per_page"]["schema"]!["maximum"]!);
        Assert.Equal(1, (int)taskList["page"]["schema"]!["minimum"]!);
        Assert.Contains("created_at", taskList["sort"]["schema"]!["enum"]!.AsArray().Select(v => (string?)v));
        Assert.Equal("array", (string?)taskList["status"]["schema"]!["type"]);
        Assert.Contains("budget_exceeded", taskList["status"]["schema"]!["items"]!["enum"]!.AsArray().Select(v => (string?)v));
        Assert.Equal(["api", "cli", "github", "jira", "plan", "slack"], taskList["source"]["schema"]!["enum"]!.AsArray().Select(v => (string)v!).Order());

        var schemas = document["components"]!["schemas"]!;
        var task = schemas["TaskResponse"]!["properties"]!;
        Assert.Equal(["budget_exceeded", "cancelled", "completed", "failed", "pending", "queued", "running"], task["status"]!["enum"]!.AsArray().Select(v => (string)v!).Order());
        Assert.Equal(["epic", "task"], task["kind"]!["enum"]!.AsArray().Select(v => (string)v!).Order());
        Assert.Equal(["admin", "operator", "viewer"], schemas["UserResponse"]!["properties"]!["role"]!["enum"]!.AsArray().Select(v => (string)v!).Order());
        Assert.Equal(["title"], schemas["CreateTaskRequest"]!["required"]!.AsArray().Select(v => (string)v!));
        Assert.Null(schemas["ProjectRequest"]!["required"]);
        Assert.NotNull(schemas["CreateTaskRequest"]!["examples"]);
        Assert.Contains("null", task["completed_at"]!["type"]!.AsArray().Select(v => (string?)v));
    }

    [Fact]
    public async Task Redoc_serves_a_self_contained_reference_page()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(Db.Sqlite, cancellationToken: ct);
        using var response = await service.Client.GetAsync("/redoc", ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var html = await response.Content.ReadAsStringAsync(ct);
        Assert.Contains("fetch('openapi.json')", html, StringComparison.Ordinal);
        // Nothing from another server: no external script, style or font.
        Assert.DoesNotContain("src=\"http", html, StringComparison.Ordinal);
        Assert.DoesNotContain("href=\"http", html, StringComparison.Ordinal);
        Assert.DoesNotContain("@import", html, StringComparison.Ordinal);
    }

    /// <summary>The response check that guards every API test finds an undeclared status and a body off its schema.</summary>
    [Fact]
    public async Task The_response_check_refuses_an_undeclared_status_and_a_body_off_the_schema()
    {
        var ct = TestContext.Current.CancellationToken;
        var document = new OpenApiResponseCheck.ContractDocument(JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "docs", "openapi.json"), ct))!.AsObject());
        static byte[] Body(string json) => System.Text.Encoding.UTF8.GetBytes(json);
        const string error = """{"success":false,"error":{"code":"NOT_FOUND","message":"Task 7 was not found.","details":null},"timestamp":"2025-01-01T00:00:00Z","request_id":"r"}""";

        Assert.Null(document.Check("/api/v1/tasks/7", "GET", 404, "application/json; charset=utf-8", Body(error)));
        Assert.Contains("status 418 is not declared", document.Check("/api/v1/tasks/7", "GET", 418, "application/json", Body(error)), StringComparison.Ordinal);
        Assert.Contains("does not match the schema", document.Check("/api/v1/tasks/7", "GET", 404, "application/json", Body(error.Replace("NOT_FOUND", "MISSING", StringComparison.Ordinal))), StringComparison.Ordinal);
        Assert.Contains("does not match the schema", document.Check("/api/v1/tasks/7", "GET", 200, "application/json", Body("""{"success":true}""")), StringComparison.Ordinal);
        // A status declared without a schema cannot answer JSON (Slack's slash command excepted: Slack's shape or the envelope).
        var withoutSchema = JsonNode.Parse("""{"paths":{"/api/v1/things":{"get":{"responses":{"200":{"description":"OK"}}}}},"components":{"schemas":{}}}""")!.AsObject();
        Assert.Contains("declares no JSON schema", new OpenApiResponseCheck.ContractDocument(withoutSchema).Check("/api/v1/things", "GET", 200, "application/json", Body("{}")), StringComparison.Ordinal);
        Assert.Null(document.Check("/webhooks/slack/commands", "POST", 200, "application/json", Body("""{"response_type":"ephemeral","text":"hi"}""")));
        // A path that is no operation (an id that is not a number) is not compared.
        Assert.Null(document.Check("/api/v1/tasks/abc", "GET", 404, "application/json", Body("{}")));
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "DevOrchestrator.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("DevOrchestrator.slnx not found above " + AppContext.BaseDirectory);
    }
}
