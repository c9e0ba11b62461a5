using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.IntegrationTests.Agents;
using DevOrchestrator.IntegrationTests.Infrastructure;

namespace DevOrchestrator.IntegrationTests.Api;

/// <summary>
/// A malformed-input generator over the whole OpenAPI document (<c>/openapi/v1.json</c>): for every operation, bad path
/// ids, bad query values, and bodies with wrong types, huge/negative/overflowing numbers, missing and extra fields,
/// deep nesting, huge strings (within and above the body limit), NUL, lone surrogates, invalid UTF-8 and non-JSON —
/// first every operation × every kind of damage, then random combinations drawn by CsCheck (its seed is printed on a
/// failure; set <c>CsCheck_Seed</c> to replay; each run explores new combinations). No answer may be a 5xx, and every 4xx must be the error envelope.
/// </summary>
public sealed class OpenApiFuzzTests
{
    private const int RandomRequests = 600;

    private static readonly string[] s_badIds = ["0", "-1", "9223372036854775807", "99999999999999999999", "abc", "1.5", "%00", "%C3%28", "%ED%A0%80", "a%2Fb", new('9', 400)];

    private static readonly string[] s_badQueryValues =
        ["-1", "0", "2147483648", "99999999999999999999", "abc", "", "%00", "%FF%FE", "%ED%A0%80", "1e9", "true", "null", "2024-13-45", "9999-12-31T23:59:59Z", "desc%00", new('x', 5000), "%F0%9F%99%82"];

    private sealed record Operation(string Method, string Path, IReadOnlyList<string> PathParameters, IReadOnlyList<string> QueryParameters, JsonObject? BodySchema);

    private sealed record FuzzRequest(Operation Operation, string Url, byte[]? Body, string ContentType, bool Anonymous, string What, bool Chunked = false)
    {
        public override string ToString() => $"{Operation.Method} {Url} [{What}] body: {Excerpt(Body)}";
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task No_malformed_request_to_any_operation_gets_a_5xx_and_every_4xx_is_the_envelope(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var model = await FakeAnthropicServer.StartAsync(new FakeModelServerOptions { ApiKey = AgentHarness.AnthropicKey }, ct);
        var settings = AgentHarness.ProviderSettings(model, "anthropic");
        settings["GITHUB_WEBHOOK_SECRET"] = "fuzz-github-secret";
        settings["JIRA_WEBHOOK_SECRET"] = "fuzz-jira-secret";
        settings["SLACK_SIGNING_SECRET"] = "fuzz-slack-secret";
        settings["MODEL_RETRY_ATTEMPTS"] = "0";
        settings["ENCRYPTION_KEY"] = "an encryption key for the fuzz tests, long enough";
        await using var service = await ServiceUnderTest.StartAsync(db, settings: settings, cancellationToken: ct);
        using var admin = await service.ClientForNewUserAsync(Roles.Admin, ct);
        using var anonymous = new HttpClient { BaseAddress = service.Address, Timeout = TimeSpan.FromSeconds(60) };

        // Something for the valid ids to find.
        var project = await admin.PostJsonAsync("/api/v1/projects", new { name = "fuzz", repository_url = "https://github.com/acme/fuzz" });
        Assert.True(project.IsSuccessStatusCode, (await project.ReadJsonAsync()).ToJsonString());
        var task = await admin.PostJsonAsync("/api/v1/tasks", new { title = "fuzz", project_id = 1 });
        Assert.True(task.IsSuccessStatusCode, (await task.ReadJsonAsync()).ToJsonString());

        var document = JsonNode.Parse(await admin.GetStringAsync("/openapi/v1.json", ct))!.AsObject();
        var operations = Operations(document).ToList();
        Assert.True(operations.Count >= 30, $"only {operations.Count} operations in the OpenAPI document");

        var failures = new ConcurrentBag<string>();
        var sent = 0;
        async Task SendAsync(FuzzRequest request)
        {
            Interlocked.Increment(ref sent);
            if (await ProblemAsync(request.Anonymous ? anonymous : admin, request, ct) is { } problem)
            {
                failures.Add(problem);
            }
        }

        // 1. Every operation × every kind of damage, in a fixed order.
        foreach (var request in operations.SelectMany(o => Systematic(o, document)))
        {
            await SendAsync(request);
        }

        // 2. Random combinations.
        var random = Gen.Int[0, operations.Count - 1].SelectMany(i => RandomRequest(operations[i], document));
        string? seedMessage = null;
        try
        {
            await random.SampleAsync(async request =>
            {
                var before = failures.Count;
                await SendAsync(request);
                if (failures.Count > before)
                {
                    throw new InvalidOperationException("5xx or a 4xx without the envelope");
                }
            }, iter: RandomRequests, threads: 1, print: r => r.ToString());
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            seedMessage = ex.Message;
        }

        TestContext.Current.SendDiagnosticMessage($"{db}: {sent} malformed requests over {operations.Count} operations, {failures.Count} failures");
        Assert.True(failures.IsEmpty, $"{failures.Count} of {sent} requests failed ({db}):\n" + string.Join("\n", failures.Distinct().Take(60)) + (seedMessage is null ? "" : "\nCsCheck: " + seedMessage));
    }

    /// <summary>Null when the answer is acceptable; else a line naming the request, the status and the answer.</summary>
    private static async Task<string?> ProblemAsync(HttpClient client, FuzzRequest fuzz, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(new HttpMethod(fuzz.Operation.Method), fuzz.Url);
        if (fuzz.Body is not null)
        {
            // Chunked: a stream HttpClient cannot measure goes without Content-Length; the server counts it as it reads.
            request.Content = fuzz.Chunked ? new StreamContent(new UnmeasuredStream(fuzz.Body)) : new ByteArrayContent(fuzz.Body);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(fuzz.ContentType);
        }

        HttpResponseMessage response;
        try
        {
            // Headers only: an event stream that opened stays open.
            if (fuzz.Chunked)
            {
                // A connection of its own: one Kestrel closed after an earlier 413 cannot carry a body that cannot be re-sent.
                using var fresh = new HttpClient { BaseAddress = client.BaseAddress, Timeout = client.Timeout };
                fresh.DefaultRequestHeaders.Authorization = client.DefaultRequestHeaders.Authorization;
                response = await fresh.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            }
            else
            {
                response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            }
        }
        catch (HttpRequestException) when (fuzz.Url.Split('?')[0].Contains("%00", StringComparison.Ordinal))
        {
            // Kestrel refuses an encoded NUL in the path at the request line (a bare 400, below) and closes the
            // connection; a client still sending a large body then sees the reset instead of the answer.
            return null;
        }
        catch (HttpRequestException ex)
        {
            return $"{fuzz} -> no answer: {ex.Message}";
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            if (status < 400)
            {
                return null;
            }

            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (status >= 500)
            {
                return $"{fuzz} -> {status}: {Cut(text)}";
            }

            // Kestrel itself refuses a path holding an encoded NUL, with a bare 400, before any middleware runs.
            if (status == 400 && text.Length == 0 && fuzz.Url.Split('?')[0].Contains("%00", StringComparison.Ordinal))
            {
                return null;
            }

            try
            {
                var json = JsonNode.Parse(text);
                if (json?["success"]?.GetValue<bool>() == false && json["error"]?["code"]?.GetValue<string>() is { Length: > 0 } && json["error"]?["message"] is not null)
                {
                    return null;
                }
            }
            catch (JsonException)
            {
            }

            return $"{fuzz} -> {status} without the error envelope: {Cut(text)}";
        }
    }

    private static IEnumerable<Operation> Operations(JsonObject document)
    {
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                if (method is "parameters" or "summary" or "description" or "servers")
                {
                    continue;
                }

                var parameters = (operation!["parameters"] as JsonArray ?? []).Concat(item["parameters"] as JsonArray ?? []).Select(p => Resolve(document, p)!).ToList();
                var body = operation["requestBody"]?["content"]?.AsObject().FirstOrDefault(c => c.Key.Contains("json", StringComparison.Ordinal)).Value?["schema"];
                yield return new Operation(
                    method.ToUpperInvariant(),
                    path,
                    parameters.Where(p => (string?)p["in"] == "path").Select(p => (string)p["name"]!).ToList(),
                    [.. parameters.Where(p => (string?)p["in"] == "query").Select(p => (string)p["name"]!), "page", "per_page", "sort", "order", "unknown_parameter"],
                    Resolve(document, body) as JsonObject);
            }
        }
    }

    private static JsonNode? Resolve(JsonObject document, JsonNode? node)
    {
        for (var i = 0; i < 10 && node?["$ref"] is JsonValue reference; i++)
        {
            node = ((string)reference!).TrimStart('#', '/').Split('/').Aggregate((JsonNode?)document, (n, part) => n?[part]);
        }

        return node;
    }

    /// <summary>A path value that finds something: the seeded project and task are 1; the plugin is GitHub.</summary>
    private static string Valid(string parameter) => parameter switch
    {
        "type" => "version_control",
        "name" => "github",
        _ => "1",
    };

    private static string Url(Operation operation, Func<string, string> pathValue, string query = "")
    {
        var url = operation.PathParameters.Aggregate(operation.Path, (p, name) => p.Replace("{" + name + "}", pathValue(name), StringComparison.Ordinal));
        return query.Length == 0 ? url : url + "?" + query;
    }

    /// <summary>
    /// Valid bodies of the operations whose validation would otherwise stop a damaged request before it reaches deeper
    /// code and the database (the schema does not say which strings are valid); the rest start from <see cref="Plausible"/>.
    /// </summary>
    private static readonly Dictionary<string, string> s_validBodies = new(StringComparer.Ordinal)
    {
        ["POST /api/v1/auth/login"] = """{"email": "fuzz@example.com", "password": "correct-horse-battery"}""",
        ["POST /api/v1/projects"] = Project,
        ["PUT /api/v1/projects/{id}"] = Project,
        ["PATCH /api/v1/projects/{id}"] = Project,
        ["POST /api/v1/projects/{id}/generate-plan"] = """{"requirements": ["Users sign up"], "auto_start": false}""",
        ["POST /api/v1/tasks"] = """{"title": "t", "description": "d", "project_id": 1, "priority": "high", "workflow": "standard_dev_workflow", "agent_type": "development", "variables": {"k": "v"}, "source": "api", "external_id": "E-1", "auto_start": false}""",
        ["PUT /api/v1/tasks/{id}"] = """{"title": "t", "description": "d", "priority": "low", "project_id": 1, "variables": {"k": "v"}}""",
        ["PATCH /api/v1/tasks/{id}"] = """{"title": "t", "description": "d", "priority": "low", "project_id": 1, "variables": {"k": "v"}}""",
        ["POST /api/v1/tasks/{id}/assign-to-agent"] = """{"agent_type": "development", "workflow": "standard_dev_workflow", "priority": "high", "variables": {"k": "v"}}""",
        ["POST /api/v1/tasks/{id}/cancel"] = """{"reason": "r"}""",
        ["POST /api/v1/workflows/execute"] = """{"workflow": "standard_dev_workflow", "task_id": 1, "variables": {"k": "v"}}""",
        ["PUT /api/v1/plugins/{type}/{name}/config"] = """{"GITHUB_API_URL": "https://api.github.com", "GITHUB_INTAKE_LABEL": "devorch"}""",
    };

    private const string Project = """{"name": "n", "description": "d", "repository_url": "https://github.com/acme/n", "default_branch": "main", "tech_stack": ["c#"], "test_command": "dotnet test", "jira_project_key": "ABC", "slack_channel": "#c", "confluence_space_key": "ENG", "confluence_parent_id": "1"}""";

    private static JsonNode? Base(JsonObject document, Operation operation) =>
        s_validBodies.TryGetValue($"{operation.Method} {operation.Path}", out var body) ? JsonNode.Parse(body) : Plausible(document, operation.BodySchema);

    /// <summary>A plausible value for each field of a schema: what the damage is done to.</summary>
    private static JsonNode? Plausible(JsonObject document, JsonNode? schema, int depth = 0)
    {
        schema = Resolve(document, schema);
        if (schema is null || depth > 4)
        {
            return "x";
        }

        if (schema["oneOf"] is JsonArray oneOf || schema["anyOf"] is JsonArray anyOf && (oneOf = anyOf) is not null)
        {
            return Plausible(document, oneOf.FirstOrDefault(s => Resolve(document, s)?["type"]?.ToString() != "null"), depth + 1);
        }

        var types = schema["type"] switch
        {
            JsonArray array => array.Select(t => (string)t!).ToArray(),
            JsonValue value => [(string)value!],
            _ => schema["properties"] is not null ? ["object"] : ["string"],
        };
        var type = types.FirstOrDefault(t => t != "null") ?? "null";
        return type switch
        {
            "integer" => 1,
            "number" => 1.5,
            "boolean" => true,
            "array" => new JsonArray(Plausible(document, schema["items"], depth + 1)),
            "object" => new JsonObject((schema["properties"] as JsonObject ?? [])
                .Select(p => KeyValuePair.Create(p.Key, Plausible(document, p.Value, depth + 1)))),
            "null" => null,
            _ => schema["enum"] is JsonArray values && values.Count > 0 ? values[0]!.DeepClone() : "x",
        };
    }

    private static readonly (string Name, Func<JsonNode?> Value)[] s_damagedValues =
    [
        ("number", () => 42),
        ("negative", () => -1),
        ("overflow", () => JsonNode.Parse("99999999999999999999999999999")),
        ("huge exponent", () => JsonNode.Parse("1e309")),
        ("fraction", () => 0.5),
        ("string", () => "not-a-number"),
        ("bool", () => false),
        ("null", () => null),
        ("array", () => new JsonArray(1, "two", null)),
        ("object", () => new JsonObject { ["nested"] = new JsonObject { ["x"] = 1 } }),
        ("empty string", () => ""),
        ("huge string", () => new string('x', 1_000_000)),
        ("unicode", () => "🙂 ünïcödé \u202e rtl"),
        ("date", () => "2024-02-30T25:61:00Z"),
    ];

    /// <summary>Texts spliced into the JSON as they are: escapes a serializer would never write.</summary>
    private static readonly (string Name, string Json)[] s_rawValues =
    [
        ("NUL", "\"a\\u0000b\""),
        ("lone surrogate", "\"a\\ud800b\""),
        ("reversed surrogates", "\"\\udc00\\ud800\""),
        ("deep nesting", new string('[', 10_000) + new string(']', 10_000)),
        ("deep objects", string.Concat(Enumerable.Repeat("{\"a\":", 2_000)) + "1" + new string('}', 2_000)),
    ];

    private static IEnumerable<FuzzRequest> Systematic(Operation operation, JsonObject document)
    {
        var valid = Url(operation, Valid);
        foreach (var id in s_badIds.Where(_ => operation.PathParameters.Count > 0))
        {
            yield return new FuzzRequest(operation, Url(operation, _ => id), BodyOrNull(operation, document), "application/json", false, "path " + id);
        }

        foreach (var name in operation.QueryParameters)
        {
            foreach (var value in s_badQueryValues)
            {
                yield return new FuzzRequest(operation, Url(operation, Valid, $"{name}={value}"), BodyOrNull(operation, document), "application/json", false, $"query {name}");
            }
        }

        yield return new FuzzRequest(operation, Url(operation, Valid, "page=1&page=2&per_page=5&per_page=x"), BodyOrNull(operation, document), "application/json", false, "repeated query");
        yield return new FuzzRequest(operation, valid, BodyOrNull(operation, document), "application/json", true, "anonymous");

        if (operation.Method is "GET" or "DELETE" && operation.BodySchema is null)
        {
            yield break;
        }

        var plausible = Base(document, operation) as JsonObject ?? [];
        var fields = plausible.Select(p => p.Key).DefaultIfEmpty("unknown_field").ToList();
        foreach (var field in fields)
        {
            foreach (var (name, value) in s_damagedValues)
            {
                var body = plausible.DeepClone().AsObject();
                body[field] = value();
                yield return Json(operation, valid, body.ToJsonString(), $"{field} = {name}");
            }

            foreach (var (name, raw) in s_rawValues)
            {
                var body = plausible.DeepClone().AsObject();
                body[field] = "RAW_PLACEHOLDER";
                yield return Json(operation, valid, body.ToJsonString().Replace("\"RAW_PLACEHOLDER\"", raw, StringComparison.Ordinal), $"{field} = {name}");
            }
        }

        yield return Json(operation, valid, plausible.ToJsonString(), "plausible");
        yield return Json(operation, valid, "{}", "no fields");
        var extra = plausible.DeepClone().AsObject();
        extra["unexpected_extra_field"] = new JsonObject { ["x"] = new JsonArray(1, 2) };
        yield return Json(operation, valid, extra.ToJsonString(), "extra field");
        foreach (var (name, text) in new[] { ("empty body", ""), ("not JSON", "{not json"), ("array root", "[1,2]"), ("string root", "\"x\""), ("number root", "12"), ("null root", "null"), ("truncated", plausible.ToJsonString()[..Math.Max(1, plausible.ToJsonString().Length / 2)]), ("trailing garbage", plausible.ToJsonString() + "}}") })
        {
            yield return Json(operation, valid, text, name);
        }

        yield return new FuzzRequest(operation, valid, [.. "{\"x\": \""u8, 0xC3, 0x28, 0xFF, 0xFE, .. "\"}"u8], "application/json", false, "invalid UTF-8");
        yield return new FuzzRequest(operation, valid, Encoding.UTF8.GetBytes("{\"x\": \"" + new string('y', 5 * 1024 * 1024) + "\"}"), "application/json", false, "body above the limit");
        yield return new FuzzRequest(operation, valid, Encoding.UTF8.GetBytes("{\"x\": \"" + new string('y', 2 * 1024 * 1024) + "\"}"), "application/json", false, "chunked body above the limit", Chunked: true);
        yield return new FuzzRequest(operation, valid, [.. "{\"x\": \"a"u8, 0x00, .. "b\"}"u8], "application/json", false, "raw NUL byte");
        yield return new FuzzRequest(operation, valid, Encoding.UTF8.GetBytes(plausible.ToJsonString()), "text/plain", false, "wrong content type");
        yield return new FuzzRequest(operation, valid, Encoding.UTF8.GetBytes("a=1&b=%00"), "application/x-www-form-urlencoded", false, "form body");
    }

    private static byte[]? BodyOrNull(Operation operation, JsonObject document) =>
        operation.BodySchema is null ? null : Encoding.UTF8.GetBytes(Base(document, operation)?.ToJsonString() ?? "{}");

    private static FuzzRequest Json(Operation operation, string url, string json, string what) =>
        new(operation, url, Encoding.UTF8.GetBytes(json), "application/json", false, what);

    /// <summary>A random damage of a random field, query parameter and path id of one operation.</summary>
    private static Gen<FuzzRequest> RandomRequest(Operation operation, JsonObject document)
    {
        var plausible = Base(document, operation) as JsonObject ?? [];
        var fields = plausible.Select(p => p.Key).Append("extra_field").ToArray();
        var genPath = Gen.OneOf(["", "", .. s_badIds]);
        var genQuery = Gen.Select(Gen.OneOf([.. operation.QueryParameters]), Gen.OneOf(s_badQueryValues), (name, value) => $"{name}={value}");
        var genValue = Gen.OneOf(
            Gen.Int.Select(i => (JsonNode?)i),
            Gen.Long.Select(l => (JsonNode?)l),
            Gen.Double.Select(d => double.IsFinite(d) ? (JsonNode?)d : "inf"),
            Gen.String.Select(s => (JsonNode?)s),
            Gen.Char.Array[0, 64].Select(c => (JsonNode?)new string(c)),
            Gen.Bool.Select(b => (JsonNode?)b),
            Gen.Const((JsonNode?)null),
            Gen.Int[0, s_damagedValues.Length - 1].Select(i => s_damagedValues[i].Value()),
            Gen.Int.Array[0, 5].Select(a => (JsonNode?)new JsonArray([.. a.Select(i => (JsonNode?)i)])));
        var genBody = Gen.Select(Gen.OneOf(fields), genValue, Gen.Int[0, s_rawValues.Length], (field, value, raw) =>
        {
            var body = plausible.DeepClone().AsObject();
            if (raw < s_rawValues.Length && raw % 2 == 0)
            {
                body[field] = "RAW_PLACEHOLDER";
                return (body.ToJsonString().Replace("\"RAW_PLACEHOLDER\"", s_rawValues[raw].Json, StringComparison.Ordinal), $"{field} = {s_rawValues[raw].Name}");
            }

            body[field] = value;
            return (body.ToJsonString(), $"{field} = {Cut(value?.ToJsonString() ?? "null")}");
        });
        return Gen.Select(genPath, genQuery, genBody, Gen.Bool, (id, query, body, withQuery) =>
            new FuzzRequest(operation, Url(operation, name => id.Length == 0 ? Valid(name) : id, withQuery ? query : ""), operation.Method is "GET" or "DELETE" && operation.BodySchema is null ? null : Encoding.UTF8.GetBytes(body.Item1),
                "application/json", false, $"random: path {id}, {(withQuery ? query : "no query")}, {body.Item2}"));
    }

    private sealed class UnmeasuredStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }

    private static string Excerpt(byte[]? body) => body is null ? "(none)" : Cut(Encoding.UTF8.GetString(body));

    private static string Cut(string text) => text.Length <= 300 ? text : text[..200] + $"…({text.Length} chars)…" + text[^60..];
}
