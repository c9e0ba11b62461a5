using System.Text.Json;
using System.Text.Json.Nodes;
using DevOrchestrator.Data;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.Features.Costs;
using DevOrchestrator.Features.Events;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.IntegrationTests.Agents;

/// <summary>
/// The agents end to end: a real host, the official Anthropic and OpenAI SDKs over HTTP against fake servers that speak
/// their wire protocols, scripted trajectories making real edits in real git repositories, the real sandbox.
/// </summary>
public sealed class AgentWorkflowTests
{
    private static string Json(object value) => JsonSerializer.Serialize(value);

    private static FakeTextReply Approve(string summary = "looks right") =>
        FakeReply.Text(Json(new { verdict = "approve", reasons = Array.Empty<string>(), summary }));

    [Theory]
    [InlineData(Db.Sqlite, "anthropic")]
    [InlineData(Db.Postgres, "openai")]
    public async Task The_standard_workflow_develops_verifies_reviews_and_pushes_a_branch_with_an_exact_bill(Db db, string provider)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var harness = await AgentHarness.StartAsync(db, provider, testCommand: "grep -q 'Hello, agents' hello.txt", cancellationToken: ct);
        harness.Model.Enqueue(
            FakeReply.ToolCall("list_files", Json(new { path = "." })),
            FakeReply.ToolCall("write_file", Json(new { path = "hello.txt", content = "Hello, agents\n" })),
            FakeReply.ToolCall("run_command", Json(new { command = "cat hello.txt; env" })),
            FakeReply.ToolCall("show_diff"),
            FakeReply.ToolCall("finish", Json(new { summary = "Added hello.txt greeting the agents." })),
            Approve());

        var id = await harness.StartTaskAsync("Add a greeting file", "Create hello.txt that says 'Hello, agents'.", cancellationToken: ct);
        var task = await harness.WaitFinishedAsync(id);

        Assert.Equal("completed", (string?)task["status"]);
        var branch = (string)task["branch"]!;
        Assert.Equal("Hello, agents", await GitFixtures.GitAsync(harness.Remote, ct, "show", $"{branch}:hello.txt"));
        var message = await GitFixtures.GitAsync(harness.Remote, ct, "log", "-1", "--format=%B", branch);
        Assert.Contains("Added hello.txt greeting the agents.", message, StringComparison.Ordinal);
        Assert.Contains("Review: approve", message, StringComparison.Ordinal);
        Assert.Equal("approve", (string?)task["result"]!["review"]!["verdict"]);

        // Six model calls: five development turns and one review, each a ledger row with its tokens and dollars.
        var requests = harness.Model.Requests;
        Assert.Equal(6, requests.Count);
        await using var d = harness.Service.State.OpenDb();
        var ledger = await d.CostEntries.Where(c => c.TaskId == id).OrderBy(c => c.Id).ToListAsync(ct);
        Assert.Equal(6, ledger.Count);
        Assert.All(ledger, c => Assert.Equal(provider, c.Provider));
        Assert.Equal(["development", "development", "development", "development", "development", "review"], ledger.Select(c => c.AgentRole));
        Assert.All(ledger, c => Assert.True(c.InputTokens + c.CacheReadTokens + c.CacheWriteTokens > 0 && c.OutputTokens > 0 && c.Usd > 0));
        var price = ModelPrices.BuiltIn[provider == "anthropic" ? "claude-sonnet-4-5" : "gpt-4.1"];
        foreach (var c in ledger)
        {
            Assert.Equal(price.Cost(c.InputTokens, c.OutputTokens, c.CacheWriteTokens, c.CacheReadTokens), c.Usd, 6);
        }

        var stored = await d.Tasks.SingleAsync(t => t.Id == id, ct);
        Assert.Equal(ledger.Sum(c => Money.ToMicros(c.Usd)), stored.CostMicros);
        Assert.Equal(0, stored.CostReservedMicros);
        Assert.Empty(await d.CostReservations.ToListAsync(ct));
        var agent = await d.AgentExecutions.SingleAsync(a => a.TaskId == id, ct);
        Assert.Equal(stored.CostMicros, agent.CostMicros);

        // The tool results went back to the model in the vendor's shape.
        var last = requests[4].Body;
        Assert.Contains(provider == "anthropic" ? "\"tool_result\"" : "\"role\":\"tool\"", last, StringComparison.Ordinal);
        Assert.Contains("Hello, agents", last, StringComparison.Ordinal);
        if (provider == "anthropic")
        {
            // Prompt caching: the system prompt and the moving end of the conversation carry breakpoints.
            Assert.Contains("cache_control", requests[1].Body, StringComparison.Ordinal);
            Assert.True(ledger.Skip(1).Take(4).All(c => c.CacheReadTokens > 0), "later turns read the cached prefix");
        }

        // Every turn was checkpointed; the key sent to the vendor is nowhere else: not in the sandbox (env output went to
        // the model), events, checkpoints or the log.
        var key = provider == "anthropic" ? AgentHarness.AnthropicKey : AgentHarness.OpenAIKey;
        Assert.DoesNotContain(requests, r => r.Body.Contains(key, StringComparison.Ordinal));
        var checkpoint = await d.AgentCheckpoints.SingleAsync(c => c.TaskId == id && c.Conversation == "implement", ct);
        Assert.Equal(5, checkpoint.Turn);
        Assert.DoesNotContain(key, checkpoint.Messages, StringComparison.Ordinal);
        var events = await d.Events.Where(e => e.TaskId == id).Select(e => e.Payload).ToListAsync(ct);
        Assert.Contains(events, p => p.Contains("turn 2: write_file(path=hello.txt)", StringComparison.Ordinal));
        Assert.DoesNotContain(events, p => p.Contains(key, StringComparison.Ordinal));
        foreach (var log in Directory.EnumerateFiles(harness.Service.State.DataDir, "*.log", SearchOption.AllDirectories))
        {
            Assert.DoesNotContain(key, await File.ReadAllTextAsync(log, ct), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Failing_tests_go_back_to_the_agent_and_review_changes_send_the_work_back_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var harness = await AgentHarness.StartAsync(Db.Sqlite, testCommand: "grep -q 'v2' version.txt", cancellationToken: ct);
        harness.Model.Enqueue(
            // implement: writes the wrong version
            FakeReply.ToolCall("write_file", Json(new { path = "version.txt", content = "v1\n" })),
            FakeReply.ToolCall("finish", Json(new { summary = "wrote version" })),
            // verify failed: the test output comes back; the agent fixes it
            FakeReply.ToolCall("replace", Json(new { path = "version.txt", old_text = "v1", new_text = "v2" })),
            FakeReply.ToolCall("finish", Json(new { summary = "fixed the version" })),
            // review: changes requested
            FakeReply.Text(Json(new { verdict = "changes_requested", reasons = new[] { "add a CHANGELOG entry" }, summary = "almost" })),
            // rework
            FakeReply.ToolCall("write_file", Json(new { path = "CHANGELOG.md", content = "- v2\n" })),
            FakeReply.ToolCall("finish", Json(new { summary = "added the changelog" })),
            // second review
            Approve("good now"));

        var id = await harness.StartTaskAsync("Bump the version to v2", cancellationToken: ct);
        var task = await harness.WaitFinishedAsync(id);

        Assert.Equal("completed", (string?)task["status"]);
        var branch = (string)task["branch"]!;
        Assert.Equal("v2", await GitFixtures.GitAsync(harness.Remote, ct, "show", $"{branch}:version.txt"));
        Assert.Equal("- v2", await GitFixtures.GitAsync(harness.Remote, ct, "show", $"{branch}:CHANGELOG.md"));

        var requests = harness.Model.Requests;
        Assert.Equal(8, requests.Count);
        Assert.Contains("test_output", requests[2].Body, StringComparison.Ordinal);
        Assert.Contains("add a CHANGELOG entry", requests[5].Body, StringComparison.Ordinal);
        var review = task["result"]!["review"]!;
        Assert.Equal("approve", (string?)review["verdict"]);
        Assert.True((bool)review["sent_back"]!);
    }

    [Fact]
    public async Task Without_a_provider_a_task_fails_at_once_naming_the_setting()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(Db.Sqlite, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync("operator", ct);
        var remote = await GitFixtures.CreateBareRepositoryAsync(service.State.Root, ct);
        var project = await (await client.PostJsonAsync("/api/v1/projects", new { name = "np", repository_url = remote })).ReadJsonAsync();
        var created = await (await client.PostJsonAsync("/api/v1/tasks", new { title = "x", project_id = (long)project["data"]!["id"]!, auto_start = true })).ReadJsonAsync();
        var id = (long)created["data"]!["id"]!;
        var task = await HttpJson.EventuallyAsync(
            async () => await service.WithDbAsync(d => d.Tasks.AsNoTracking().SingleAsync(t => t.Id == id)), t => TaskStatuses.IsFinished(t.Status));
        Assert.Equal("failed", task.Status);
        Assert.Contains("ANTHROPIC_API_KEY", task.Error, StringComparison.Ordinal);
        Assert.Contains("OPENAI_BASE_URL", task.Error, StringComparison.Ordinal);

        // Nothing ran: not even the workspace was prepared.
        Assert.Empty(await service.WithDbAsync(d => d.WorkflowSteps.ToListAsync()));
    }

    [Fact]
    public async Task A_model_without_a_price_is_refused_while_cost_tracking_is_on()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var harness = await AgentHarness.StartAsync(Db.Sqlite, settings: new Dictionary<string, string?> { ["DEVELOPMENT_MODEL"] = "my-local-llama" }, cancellationToken: ct);
        var id = await harness.StartTaskAsync("anything", cancellationToken: ct);
        var task = await harness.WaitFinishedAsync(id);
        Assert.Equal("failed", (string?)task["status"]);
        Assert.Contains("'my-local-llama' has no price", (string?)task["error"], StringComparison.Ordinal);
        Assert.Contains("MODEL_PRICES", (string?)task["error"], StringComparison.Ordinal);
        Assert.Empty(harness.Model.Requests);
    }

    [Fact]
    public async Task Rate_limits_overload_and_server_errors_are_retried_honouring_retry_after()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var harness = await AgentHarness.StartAsync(Db.Sqlite, cancellationToken: ct);
        harness.Model.Enqueue(
            FakeReply.RateLimited("1"),
            FakeReply.Overloaded(),
            FakeReply.ServerError(),
            FakeReply.ToolCall("write_file", Json(new { path = "a.txt", content = "a" })),
            FakeReply.ToolCall("finish", Json(new { summary = "done" })),
            Approve());
        var id = await harness.StartTaskAsync("Write a.txt", workflow: "standard_dev_workflow", cancellationToken: ct);
        var task = await harness.WaitFinishedAsync(id);
        Assert.Equal("completed", (string?)task["status"]);

        var requests = harness.Model.Requests;
        Assert.Equal([429, 529, 500, 200, 200, 200], requests.Select(r => r.StatusCode));
        Assert.True(requests[1].ReceivedAt - requests[0].ReceivedAt >= TimeSpan.FromSeconds(0.95), "waited for retry-after: 1");

        // Failed attempts are not billed: three ledger rows, no reservation left behind.
        await using var d = harness.Service.State.OpenDb();
        Assert.Equal(3, await d.CostEntries.CountAsync(c => c.TaskId == id, ct));
        Assert.Equal(0, (await d.Tasks.SingleAsync(t => t.Id == id, ct)).CostReservedMicros);
    }

    [Fact]
    public async Task A_task_over_its_budget_stops_as_budget_exceeded_with_its_partial_work_committed()
    {
        var ct = TestContext.Current.CancellationToken;
        // A tiny per-task limit: the first calls fit, then the next worst case does not.
        await using var harness = await AgentHarness.StartAsync(Db.Sqlite, settings: new Dictionary<string, string?>
        {
            ["PER_TASK_COST_LIMIT"] = "0.05",
            ["AGENT_MAX_OUTPUT_TOKENS"] = "1000",
            ["AGENT_MAX_TURNS"] = "500",
        }, cancellationToken: ct);
        var turn = 0;
        harness.Model.Respond(_ => FakeReply.ToolCall("write_file", Json(new { path = "progress.txt", content = $"step {Interlocked.Increment(ref turn)}\n" })));
        var id = await harness.StartTaskAsync("Work forever", cancellationToken: ct);
        var task = await harness.WaitFinishedAsync(id);

        Assert.Equal("budget_exceeded", (string?)task["status"]);
        Assert.Contains("PER_TASK_COST_LIMIT", (string?)task["error"], StringComparison.Ordinal);
        await using var d = harness.Service.State.OpenDb();
        var stored = await d.Tasks.SingleAsync(t => t.Id == id, ct);
        Assert.True(stored.CostMicros <= 50_000, $"spent {stored.CostMicros} micro-dollars of a 50,000 limit");
        Assert.True(stored.CostMicros > 0);
        var branch = await d.WorkflowSteps.Where(s => s.Name == "prepare").Select(s => s.Outputs).SingleAsync(ct);
        var name = JsonNode.Parse(branch!)!["branch"]!.GetValue<string>();
        // The partial work was pushed, so the task reports that branch (it reports only branches it pushed).
        Assert.Equal(name, (string?)task["branch"]);
        Assert.Equal(name, (string?)task["result"]!["branch"]);
        var committed = await GitFixtures.GitAsync(harness.Remote, ct, "show", $"{name}:progress.txt");
        Assert.StartsWith("step ", committed, StringComparison.Ordinal);
        Assert.Contains("budget exceeded", await GitFixtures.GitAsync(harness.Remote, ct, "log", "-1", "--format=%s", name), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2", "max_turns: stopped after 2 turns", 2)]
    [InlineData("500", "no_progress: the same action was repeated 3 times", 3)]
    public async Task A_development_agent_that_does_not_finish_fails_its_step_with_the_reason(string maxTurns, string reason, int modelCalls)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var harness = await AgentHarness.StartAsync(Db.Sqlite, settings: new Dictionary<string, string?> { ["AGENT_MAX_TURNS"] = maxTurns }, cancellationToken: ct);
        harness.Model.Respond(_ => FakeReply.ToolCall("read_file", Json(new { path = "README.md" })));

        var id = await harness.StartTaskAsync("Read forever", cancellationToken: ct);
        var task = await harness.WaitFinishedAsync(id);

        Assert.Equal("failed", (string?)task["status"]);
        Assert.StartsWith("step implement failed: the development agent did not finish: " + reason, (string?)task["error"], StringComparison.Ordinal);
        Assert.Equal(modelCalls, harness.Model.Requests.Count);
        await using var d = harness.Service.State.OpenDb();
        var outputs = JsonNode.Parse((await d.WorkflowSteps.Where(s => s.Name == "implement").Select(s => s.Outputs).SingleAsync(ct))!)!;
        Assert.False((bool)outputs["finished"]!);
        Assert.StartsWith(reason, (string?)outputs["stop_reason"], StringComparison.Ordinal);
        Assert.Equal(modelCalls, (long)outputs["turns"]!);
    }

    [Fact]
    public async Task A_retried_step_whose_conversation_stopped_for_no_progress_fails_again_instead_of_completing()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var harness = await AgentHarness.StartAsync(Db.Sqlite, settings: new Dictionary<string, string?> { ["AGENT_MAX_TURNS"] = "500" }, cancellationToken: ct);
        Directory.CreateDirectory(harness.Service.State.WorkflowsDir);
        await File.WriteAllTextAsync(Path.Combine(harness.Service.State.WorkflowsDir, "retry_implement.yaml"), """
            name: retry_implement
            steps:
              - name: prepare
                type: plugin_action
                plugin: workspace
                action: prepare
              - name: implement
                type: ai_action
                agent: development
                on_error: retry
                retry_count: 1
            """, ct);
        harness.Model.Respond(_ => FakeReply.ToolCall("read_file", Json(new { path = "README.md" })));

        var id = await harness.StartTaskAsync("Read forever, twice", workflow: "retry_implement", cancellationToken: ct);
        var task = await harness.WaitFinishedAsync(id);

        // The retry resumes the stored conversation, which ended for no progress: that is not a finished agent.
        Assert.Equal("failed", (string?)task["status"]);
        Assert.Contains("no_progress", (string?)task["error"], StringComparison.Ordinal);
        Assert.Equal(3, harness.Model.Requests.Count);
        await using var d = harness.Service.State.OpenDb();
        Assert.Equal(2, await d.WorkflowSteps.Where(s => s.Name == "implement").Select(s => s.Attempts).SingleAsync(ct));
    }

    [Fact]
    public async Task Parallel_tasks_racing_for_the_last_dollars_of_the_month_never_overshoot_and_alert_once()
    {
        var ct = TestContext.Current.CancellationToken;
        const decimal budget = 0.20m;
        await using var harness = await AgentHarness.StartAsync(Db.Postgres, settings: new Dictionary<string, string?>
        {
            ["MONTHLY_BUDGET_LIMIT"] = budget.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["AGENT_MAX_OUTPUT_TOKENS"] = "300",
            ["AGENT_MAX_TURNS"] = "500",
            ["MAX_WORKERS"] = "6",
            ["MAX_CONCURRENT_AGENTS"] = "6",
        }, cancellationToken: ct);
        var counter = 0;
        harness.Model.Respond(_ => FakeReply.ToolCall("write_file", Json(new { path = "n.txt", content = $"{Interlocked.Increment(ref counter)}\n" })) with { Delay = TimeSpan.FromMilliseconds(20) });
        var ids = new List<long>();
        for (var i = 0; i < 6; i++)
        {
            ids.Add(await harness.StartTaskAsync($"racer {i}", cancellationToken: ct));
        }

        foreach (var id in ids)
        {
            Assert.Equal("budget_exceeded", (string?)(await harness.WaitFinishedAsync(id, TimeSpan.FromMinutes(3)))["status"]);
        }

        await using var d = harness.Service.State.OpenDb();
        var month = await d.BudgetMonths.SingleAsync(ct);
        var ledgerTotal = await d.CostEntries.SumAsync(c => c.Usd, ct);
        Assert.True(month.SpentMicros <= Money.ToMicros(budget), $"spent {month.SpentMicros} micro-dollars of {Money.ToMicros(budget)}");
        Assert.True(ledgerTotal <= budget);
        Assert.InRange(month.SpentMicros - Money.ToMicros(ledgerTotal), -10, 10);
        Assert.Equal(0, month.ReservedMicros);
        Assert.True(month.SpentMicros > Money.ToMicros(budget) / 2, "the budget was really used");

        var alerts = await d.Events.Where(e => e.Type == EventTypes.SystemAlert).Select(e => e.Payload).ToListAsync(ct);
        Assert.Single(alerts, a => a.Contains("\"threshold_percent\":80", StringComparison.Ordinal));
        Assert.Single(alerts, a => a.Contains("\"threshold_percent\":100", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_worker_stopped_mid_task_resumes_at_its_last_turn_without_paying_a_finished_turn_twice()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var harness = await AgentHarness.StartAsync(Db.Sqlite, cancellationToken: ct);
        harness.Model.Enqueue(
            FakeReply.ToolCall("write_file", Json(new { path = "one.txt", content = "1" })),
            FakeReply.ToolCall("write_file", Json(new { path = "two.txt", content = "2" })),
            // The third call hangs until the worker is gone.
            FakeReply.ToolCall("write_file", Json(new { path = "three.txt", content = "3" })) with { Delay = TimeSpan.FromSeconds(30) });
        var id = await harness.StartTaskAsync("Write three files", cancellationToken: ct);
        await HttpJson.EventuallyAsync(() => Task.FromResult(harness.Model.Requests.Count), n => n >= 3, TimeSpan.FromSeconds(60));

        await harness.RestartAsync(whileStopped: () =>
        {
            harness.Model.Reset();
            harness.Model.Enqueue(
                FakeReply.ToolCall("write_file", Json(new { path = "three.txt", content = "3" })),
                FakeReply.ToolCall("finish", Json(new { summary = "three files" })),
                Approve());
        }, cancellationToken: ct);
        var task = await harness.WaitFinishedAsync(id);
        Assert.Equal("completed", (string?)task["status"]);

        // The resumed conversation went on from turn 2: its first request already carries both finished tool results.
        var resumed = harness.Model.Requests;
        Assert.Equal(3, resumed.Count);
        Assert.Contains("two.txt", resumed[0].Body, StringComparison.Ordinal);
        Assert.Contains("one.txt", resumed[0].Body, StringComparison.Ordinal);

        // Paid: turns 1 and 2 once (first worker), the interrupted third call never (it was cancelled), then three more.
        await using var d = harness.Service.State.OpenDb();
        var ledger = await d.CostEntries.Where(c => c.TaskId == id).ToListAsync(ct);
        Assert.Equal(5, ledger.Count);
        var branch = (string)task["branch"]!;
        foreach (var (file, content) in new[] { ("one.txt", "1"), ("two.txt", "2"), ("three.txt", "3") })
        {
            Assert.Equal(content, await GitFixtures.GitAsync(harness.Remote, ct, "show", $"{branch}:{file}"));
        }

    }
}
