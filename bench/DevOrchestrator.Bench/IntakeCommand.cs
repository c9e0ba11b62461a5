using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace DevOrchestrator.Bench;

/// <summary>
/// <c>devorch-bench intake</c>: how fast a running server acknowledges signed intake deliveries — Slack slash commands
/// (Slack gives up after 3 seconds), GitHub issue deliveries (each a new task), and the same GitHub deliveries again
/// (replays, refused from the delivery record) — closed loop with <c>--concurrency</c> senders.
/// </summary>
internal static class IntakeCommand
{
    public static Command Create()
    {
        var server = new Option<string>("--server") { Description = "Base URL of the running server (loopback)", Required = true };
        var slackSecret = new Option<string>("--slack-secret") { Description = "The server's SLACK_SIGNING_SECRET", Required = true };
        var githubSecret = new Option<string>("--github-secret") { Description = "The server's GITHUB_WEBHOOK_SECRET", Required = true };
        var channel = new Option<string>("--channel") { Description = "A channel id mapped to a project (slack_channel)", Required = true };
        var repository = new Option<string>("--repository") { Description = "owner/name of a repository mapped to a project; its URL is https://github.com/owner/name", Required = true };
        var count = new Option<int>("--count") { Description = "Deliveries per kind (1..20000)", DefaultValueFactory = _ => 500 };
        var concurrency = new Option<int>("--concurrency") { Description = "Deliveries in flight at once (1..256)", DefaultValueFactory = _ => 8 };
        var label = new Option<string?>("--label") { Description = "Name of this run in the report" };
        var json = new Option<FileInfo?>("--json") { Description = "Append the result as one JSON line to this file" };
        var markdown = new Option<FileInfo?>("--markdown") { Description = "Append the result as a markdown table to this file" };
        var command = new Command("intake", "Acknowledgement latency and throughput of signed Slack slash commands and GitHub webhook deliveries (new and repeated).")
        {
            server, slackSecret, githubSecret, channel, repository, count, concurrency, label, json, markdown,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var n = parseResult.GetValue(count);
            var c = parseResult.GetValue(concurrency);
            if (n is < 1 or > 20_000 || c is < 1 or > 256 || !Uri.TryCreate(parseResult.GetValue(server), UriKind.Absolute, out var baseUri) || !baseUri.IsLoopback)
            {
                await Console.Error.WriteLineAsync("--count must be 1..20000, --concurrency 1..256, --server a loopback http URL.");
                return 2;
            }

            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = c }) { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
            var run = Guid.NewGuid().ToString("N")[..8];
            var slack = parseResult.GetValue(slackSecret)!;
            var github = parseResult.GetValue(githubSecret)!;
            var repo = parseResult.GetValue(repository)!;

            var commands = await SendAsync(n, c, i => SlashCommand(parseResult.GetValue(channel)!, $"{run}-{i}", slack), HttpStatusCode.OK, http, cancellationToken);
            var issues = await SendAsync(n, c, i => GitHubIssue(repo, 100_000 + i, $"{run}-gh-{i}", github), HttpStatusCode.Accepted, http, cancellationToken);
            var repeats = await SendAsync(n, c, i => GitHubIssue(repo, 100_000 + i, $"{run}-gh-{i}", github), HttpStatusCode.Conflict, http, cancellationToken);

            var errors = commands.Errors.Concat(issues.Errors).Concat(repeats.Errors).GroupBy(e => e.Key).ToDictionary(g => g.Key, g => g.Sum(e => e.Value));
            var result = new BenchResult(
                parseResult.GetValue(label) ?? "intake",
                "intake",
                new Dictionary<string, string> { ["deliveries_per_kind"] = n.ToString(CultureInfo.InvariantCulture), ["concurrency"] = c.ToString(CultureInfo.InvariantCulture) },
                [
                    new ResultRow("POST /webhooks/slack/commands → 200 task queued", Distribution.Of(commands.Latencies), commands.Latencies.Count / commands.Elapsed.TotalSeconds),
                    new ResultRow("POST /webhooks/github (issue labelled) → 202 task queued", Distribution.Of(issues.Latencies), issues.Latencies.Count / issues.Elapsed.TotalSeconds),
                    new ResultRow("POST /webhooks/github, same delivery again → 409 replay", Distribution.Of(repeats.Latencies), repeats.Latencies.Count / repeats.Elapsed.TotalSeconds),
                ],
                errors.Values.Sum(),
                errors,
                [
                    "latency = request written → response read, by the client; every request signed (HMAC-SHA256) like the vendor does.",
                    "Slack's limit for the acknowledgement is 3,000 ms.",
                ]);
            var table = result.ToMarkdown();
            Console.WriteLine(table);
            await BenchDirectories.AppendAsync(parseResult.GetValue(markdown), table, cancellationToken);
            await BenchDirectories.AppendAsync(parseResult.GetValue(json), result.ToJson(), cancellationToken);
            return result.Succeeded ? 0 : 1;
        });
        return command;
    }

    private sealed record Run(IReadOnlyList<double> Latencies, IReadOnlyDictionary<string, int> Errors, TimeSpan Elapsed);

    private static async Task<Run> SendAsync(int count, int concurrency, Func<int, HttpRequestMessage> request, HttpStatusCode expected, HttpClient http, CancellationToken cancellationToken)
    {
        var next = -1;
        var latencies = new ConcurrentBag<double>();
        var errors = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                using var message = request(i);
                var sent = Stopwatch.GetTimestamp();
                try
                {
                    using var response = await http.SendAsync(message, cancellationToken);
                    await response.Content.ReadAsByteArrayAsync(cancellationToken);
                    if (response.StatusCode == expected)
                    {
                        latencies.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
                    }
                    else
                    {
                        errors.AddOrUpdate(((int)response.StatusCode).ToString(CultureInfo.InvariantCulture), 1, (_, v) => v + 1);
                    }
                }
                catch (HttpRequestException ex)
                {
                    errors.AddOrUpdate(ex.GetType().Name, 1, (_, v) => v + 1);
                }
            }
        }));
        return new Run(latencies.ToArray(), errors, Stopwatch.GetElapsedTime(started));
    }

    private static HttpRequestMessage SlashCommand(string channel, string trigger, string secret)
    {
        var form = $"team_id=T0BENCH&channel_id={channel}&channel_name=bench&user_id=U0BENCH&user_name=bench&command=%2Fdevorch" +
                   $"&text={Uri.EscapeDataString("benchmark task " + trigger)}&response_url={Uri.EscapeDataString("https://hooks.slack.com/commands/T0BENCH/1/" + trigger)}&trigger_id={trigger}";
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/slack/commands") { Content = new StringContent(form, Encoding.UTF8, "application/x-www-form-urlencoded") };
        request.Headers.Add("X-Slack-Request-Timestamp", timestamp);
        request.Headers.Add("X-Slack-Signature", "v0=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"v0:{timestamp}:{form}"))));
        return request;
    }

    private static HttpRequestMessage GitHubIssue(string repository, int number, string delivery, string secret)
    {
        var body = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["action"] = "labeled",
            ["label"] = new JsonObject { ["name"] = "devorch" },
            ["issue"] = new JsonObject
            {
                ["number"] = number,
                ["title"] = "Benchmark issue " + number,
                ["body"] = "A task made by the intake benchmark.",
                ["html_url"] = $"https://github.com/{repository}/issues/{number}",
                ["labels"] = new JsonArray(new JsonObject { ["name"] = "devorch" }),
                ["user"] = new JsonObject { ["login"] = "bench" },
            },
            ["repository"] = new JsonObject { ["full_name"] = repository, ["html_url"] = $"https://github.com/{repository}" },
            ["sender"] = new JsonObject { ["login"] = "bench" },
        }.ToJsonString());
        var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/github") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Add("X-GitHub-Event", "issues");
        request.Headers.Add("X-GitHub-Delivery", delivery);
        request.Headers.Add("X-Hub-Signature-256", "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body)));
        return request;
    }
}
