using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using DevOrchestrator.FakeVendors;
using System.Text.RegularExpressions;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Hosting;
using DevOrchestrator.IntegrationTests.Agents;
using DevOrchestrator.IntegrationTests.Dispatch;
using DevOrchestrator.IntegrationTests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace DevOrchestrator.IntegrationTests.Health;

/// <summary>
/// deploy/monitoring against the real service: every metric an alert rule or a dashboard panel names is exported by
/// /metrics of a service that has run a task, and the gauges read from the shared database say what is in it.
/// </summary>
public sealed partial class MonitoringTests
{
    /// <summary>Series that Prometheus itself makes for every target, not the service.</summary>
    private static readonly HashSet<string> s_prometheusSeries = ["up"];

    /// <summary>
    /// Metrics that only get a sample after a model or plugin call (their labels — model, plugin, outcome — are not
    /// known before): for these the test asks that the family is exported (its <c># TYPE</c> line); every other metric
    /// must have a sample after a task has run.
    /// </summary>
    private static readonly HashSet<string> s_afterVendorCalls = ["ai_tokens_used_total", "ai_cost_usd_total", "plugin_requests_total", "circuit_breaker_state"];

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Every_metric_named_by_an_alert_or_a_dashboard_panel_is_exported_after_a_task_has_run(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        var queries = AlertExpressions().Concat(DashboardExpressions()).ToList();
        var names = queries.SelectMany(MetricNames).ToHashSet(StringComparer.Ordinal);
        // The extractor really finds names: the rules and the dashboard name at least these.
        Assert.True(queries.Count >= 30, $"only {queries.Count} expressions found");
        Assert.Superset(new HashSet<string>(StringComparer.Ordinal) { "http_requests_total", "http_request_duration_seconds_bucket", "tasks_total", "tasks_queued", "worker_up", "budget_monthly_spent_usd", "task_dispatch_seconds_bucket", "active_agents_count" }, names);

        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Operator, ct);
        var bare = await GitFixtures.CreateBareRepositoryAsync(service.State.Root, ct);
        var project = await DispatchTests.CreateProjectAsync(client, bare);
        var id = await DispatchTests.StartTaskAsync(client, project, "Monitored", "echo monitored > MONITORED.txt");
        Assert.Equal("completed", (string?)(await DispatchTests.WaitForFinishAsync(client, id))["status"]);

        var scrape = await service.Client.GetStringAsync("/metrics", ct);
        var families = scrape.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToHashSet(StringComparer.Ordinal);
        var samples = scrape.Split('\n').Where(l => l.Length > 0 && l[0] != '#').Select(l => l.Split('{', ' ')[0]).ToHashSet(StringComparer.Ordinal);

        var missing = new List<string>();
        foreach (var name in names.Where(n => !s_prometheusSeries.Contains(n)).Order(StringComparer.Ordinal))
        {
            var family = HistogramSeries().Replace(name, "");
            if (s_afterVendorCalls.Contains(family) ? !families.Contains(family) : !samples.Contains(name))
            {
                missing.Add(name);
            }
        }

        Assert.True(missing.Count == 0, $"named by deploy/monitoring but not exported: {string.Join(", ", missing)}");
    }

    [Fact]
    public async Task Queue_and_budget_gauges_read_the_shared_database_and_an_api_replica_is_no_worker()
    {
        var ct = TestContext.Current.CancellationToken;
        // An API-only replica: nothing claims the task, so it stays queued and ages.
        await using var api = await ServiceUnderTest.StartAsync(Db.Postgres, ServiceRole.Api, new Dictionary<string, string?> { ["MONTHLY_BUDGET_LIMIT"] = "42.5" }, cancellationToken: ct);
        using var client = await api.ClientForNewUserAsync(Roles.Operator, ct);
        var bare = await GitFixtures.CreateBareRepositoryAsync(api.State.Root, ct);
        var project = await DispatchTests.CreateProjectAsync(client, bare);
        await DispatchTests.StartTaskAsync(client, project, "Waits", "echo waits > WAITS.txt");

        var text = await HttpJson.EventuallyAsync(
            () => api.Client.GetStringAsync("/metrics", ct),
            t => Value(t, "tasks_queued") == 1 && Value(t, "oldest_queued_task_age_seconds") > 0,
            TimeSpan.FromSeconds(60));
        Assert.Equal(1, Value(text, "tasks_queued"));
        Assert.True(Value(text, "oldest_queued_task_age_seconds") > 0, text);
        Assert.Equal(0, Value(text, "worker_up"));
        Assert.Equal(42.5, Value(text, "budget_monthly_limit_usd"));
        Assert.Equal(0, Value(text, "budget_monthly_spent_usd"));

        // A worker on the same database runs it; every replica then reports an empty queue.
        await using var worker = await ServiceUnderTest.StartAsync(Db.Postgres, ServiceRole.Worker, shareWith: api, cancellationToken: ct);
        text = await HttpJson.EventuallyAsync(
            () => api.Client.GetStringAsync("/metrics", ct),
            t => Value(t, "tasks_queued") == 0 && Value(t, "oldest_queued_task_age_seconds") == 0,
            TimeSpan.FromSeconds(90));
        Assert.Equal(0, Value(text, "tasks_queued"));
        Assert.Equal(0, Value(text, "oldest_queued_task_age_seconds"));
        Assert.Equal(1, Value(await worker.Client.GetStringAsync("/metrics", ct), "worker_up"));
    }

    [Fact]
    public async Task Model_calls_export_tokens_and_dollars_by_model_and_calls_failing_after_retries_count_as_provider_errors()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var harness = await AgentHarness.StartAsync(Db.Sqlite, cancellationToken: ct);
        var before = await harness.Service.Client.GetStringAsync("/metrics", ct);
        Assert.Equal(0, Value(before, "ai_request_errors_total{provider=\"anthropic\"}"));

        harness.Model.Enqueue(
            FakeReply.ToolCall("write_file", JsonSerializer.Serialize(new { path = "a.txt", content = "a" })),
            FakeReply.ToolCall("finish", JsonSerializer.Serialize(new { summary = "done" })),
            FakeReply.Text(JsonSerializer.Serialize(new { verdict = "approve", reasons = Array.Empty<string>(), summary = "fine" })));
        Assert.Equal("completed", (string?)(await harness.WaitFinishedAsync(await harness.StartTaskAsync("Write a.txt", cancellationToken: ct)))["status"]);
        var text = await harness.Service.Client.GetStringAsync("/metrics", ct);
        Assert.True(Value(text, "ai_tokens_used_total{provider=\"anthropic\",model=\"claude-sonnet-4-5\"}") > 0, text);
        Assert.True(Value(text, "ai_cost_usd_total{provider=\"anthropic\",model=\"claude-sonnet-4-5\"}") > 0, text);
        Assert.Equal(0, Value(text, "ai_request_errors_total{provider=\"anthropic\"}"));

        // Every attempt fails: the SDK's retries are spent and the call fails, once per call the agent makes.
        harness.Model.Respond(_ => FakeReply.ServerError());
        await harness.WaitFinishedAsync(await harness.StartTaskAsync("Write b.txt", cancellationToken: ct));
        text = await harness.Service.Client.GetStringAsync("/metrics", ct);
        Assert.True(Value(text, "ai_request_errors_total{provider=\"anthropic\"}") >= 1, text);
        Assert.Equal(0, Value(text, "ai_request_errors_total{provider=\"openai\"}"));
    }

    private static double? Value(string scrape, string name)
    {
        var line = scrape.Split('\n').FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        return line is null ? null : double.Parse(line[(name.Length + 1)..], CultureInfo.InvariantCulture);
    }

    private static IEnumerable<string> AlertExpressions()
    {
        var yaml = new YamlStream();
        using (var reader = new StringReader(File.ReadAllText(Path.Combine(MonitoringDirectory(), "prometheus", "alerts.yml"))))
        {
            yaml.Load(reader);
        }

        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        foreach (YamlMappingNode group in (YamlSequenceNode)root["groups"])
        {
            foreach (YamlMappingNode rule in (YamlSequenceNode)group["rules"])
            {
                yield return ((YamlScalarNode)rule["expr"]).Value!;
            }
        }
    }

    private static IEnumerable<string> DashboardExpressions()
    {
        var dashboard = JsonNode.Parse(File.ReadAllText(Path.Combine(MonitoringDirectory(), "grafana", "dashboards", "devorch.json")))!;
        foreach (var panel in dashboard["panels"]!.AsArray())
        {
            foreach (var target in panel!["targets"]?.AsArray() ?? [])
            {
                yield return (string)target!["expr"]!;
            }
        }
    }

    /// <summary>
    /// The metric names of a PromQL expression: identifiers left after removing strings, label matchers
    /// (<c>{…}</c>), ranges (<c>[…]</c>), grouping label lists (<c>by (…)</c>), function calls' names and keywords.
    /// </summary>
    private static IEnumerable<string> MetricNames(string expr)
    {
        var text = Strings().Replace(expr, " ");
        text = Braces().Replace(text, " ");
        text = Brackets().Replace(text, " ");
        text = Grouping().Replace(text, " ");
        foreach (Match m in Identifier().Matches(text))
        {
            var name = m.Groups[1].Value;
            if (!s_keywords.Contains(name) && !FollowedByParenthesis(text, m.Index + m.Length))
            {
                yield return name;
            }
        }
    }

    private static bool FollowedByParenthesis(string text, int at)
    {
        while (at < text.Length && char.IsWhiteSpace(text[at]))
        {
            at++;
        }

        return at < text.Length && text[at] == '(';
    }

    private static readonly HashSet<string> s_keywords =
    [
        "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile",
        "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "atan2",
        "inf", "nan",
    ];

    private static string MonitoringDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "DevOrchestrator.slnx")))
            {
                return Path.Combine(dir.FullName, "deploy", "monitoring");
            }
        }

        throw new InvalidOperationException("DevOrchestrator.slnx not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex("_(bucket|sum|count)$")]
    private static partial Regex HistogramSeries();

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'")]
    private static partial Regex Strings();

    [GeneratedRegex("\\{[^}]*\\}")]
    private static partial Regex Braces();

    [GeneratedRegex("\\[[^\\]]*\\]")]
    private static partial Regex Brackets();

    [GeneratedRegex("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)")]
    private static partial Regex Grouping();

    [GeneratedRegex("(?<![\\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)")]
    private static partial Regex Identifier();
}
