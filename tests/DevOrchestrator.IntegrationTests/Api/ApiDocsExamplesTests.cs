using System.Diagnostics;
using System.Text.Json.Nodes;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.IntegrationTests.Api;

/// <summary>
/// Runs every <c>```bash checked</c> block of docs/api.md with the real <c>bash</c>, <c>curl</c> and <c>jq</c> against
/// a real server, as a reader would paste it: the block must exit 0 and print one JSON document with the fields of
/// its <c># expect:</c> line (<c>path</c> present, <c>path=value</c> equal; numeric segments index arrays).
/// </summary>
public sealed class ApiDocsExamplesTests
{
    private sealed record Example(int Line, string Script, IReadOnlyList<string> Expectations);

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Every_checked_curl_example_in_docs_api_md_works_as_documented(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        var examples = ReadExamples(Path.Combine(RepositoryRoot(), "docs", "api.md"));
        Assert.True(examples.Count >= 10, $"docs/api.md has only {examples.Count} checked examples");

        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        const string email = "docs-admin@example.com", password = "docs-password-1";
        string token;
        await using (var scope = service.Services.CreateAsyncScope())
        {
            var user = await scope.ServiceProvider.GetRequiredService<UserAccounts>().CreateAsync(email, Roles.Admin, password, ct);
            token = scope.ServiceProvider.GetRequiredService<TokenIssuer>().Issue(user!, TimeSpan.FromHours(1)).Token;
        }

        var environment = new Dictionary<string, string>
        {
            ["DEVORCH_URL"] = service.Address.ToString().TrimEnd('/'),
            ["TOKEN"] = token,
            ["ADMIN_EMAIL"] = email,
            ["ADMIN_PASSWORD"] = password,
        };
        foreach (var example in examples)
        {
            var (exitCode, stdout, stderr) = await RunBashAsync(example.Script, environment, ct);
            var where = $"docs/api.md line {example.Line}";
            Assert.True(exitCode == 0, $"{where} exited {exitCode}: {stderr}\n{stdout}");
            JsonNode? json;
            try
            {
                json = JsonNode.Parse(stdout);
            }
            catch (System.Text.Json.JsonException ex)
            {
                throw new Xunit.Sdk.XunitException($"{where} did not print one JSON document ({ex.Message}): {stdout}");
            }

            Assert.NotNull(json);
            Assert.NotEmpty(example.Expectations);
            foreach (var expectation in example.Expectations)
            {
                var (path, expected) = expectation.IndexOf('=', StringComparison.Ordinal) is var eq and > 0 ? (expectation[..eq], expectation[(eq + 1)..]) : (expectation, null);
                var (found, value) = Resolve(json, path);
                Assert.True(found, $"{where}: {path} is missing in {stdout}");
                if (expected is not null)
                {
                    var actual = value switch { null => "null", JsonValue v when v.TryGetValue<string>(out var s) => s, _ => value.ToJsonString() };
                    Assert.True(actual == expected, $"{where}: {path} is {actual}, the docs say {expected}");
                }
            }
        }
    }

    /// <summary>The checked blocks, each with its expectations; a checked block without one is a mistake in the docs.</summary>
    private static List<Example> ReadExamples(string path)
    {
        var lines = File.ReadAllLines(path);
        var examples = new List<Example>();
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Trim() != "```bash checked")
            {
                continue;
            }

            var start = i + 1;
            var body = new List<string>();
            for (i++; i < lines.Length && lines[i].Trim() != "```"; i++)
            {
                body.Add(lines[i]);
            }

            var expectations = body.Where(l => l.StartsWith("# expect:", StringComparison.Ordinal))
                .SelectMany(l => l["# expect:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
            Assert.True(expectations.Count > 0, $"docs/api.md line {start}: a checked block without '# expect:'");
            examples.Add(new Example(start, string.Join('\n', body), expectations));
        }

        return examples;
    }

    private static (bool Found, JsonNode? Value) Resolve(JsonNode root, string path)
    {
        JsonNode? current = root;
        foreach (var segment in path.Split('.'))
        {
            switch (current)
            {
                case JsonObject obj when obj.TryGetPropertyValue(segment, out var next):
                    current = next;
                    break;
                case JsonArray array when int.TryParse(segment, out var index) && index < array.Count:
                    current = array[index];
                    break;
                default:
                    return (false, null);
            }
        }

        return (true, current);
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunBashAsync(string script, IReadOnlyDictionary<string, string> environment, CancellationToken ct)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var argument in new[] { "-e", "-u", "-o", "pipefail", "-c", script })
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        return (process.ExitCode, (await stdout).Trim(), (await stderr).Trim());
    }

    private static string RepositoryRoot()
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
