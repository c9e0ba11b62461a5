using System.Net;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.IntegrationTests.Dispatch;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.IntegrationTests.Api;

/// <summary>The guide's shapes: a task's fields at the top of <c>data</c>, <c>/api/v1/agents/status?task_id=</c>, the JSON metrics summary.</summary>
public sealed class GuideShapesTests
{
    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task A_task_answers_its_own_fields_at_the_top_with_result_pr_url_cost_and_the_latest_execution(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Operator, ct);
        var created = await client.PostJsonAsync("/api/v1/tasks", new { title = "shaped" });
        var id = (long)(await created.ReadJsonAsync())["data"]!["id"]!;

        // Before any run: result is an object whose pr_url and branch are null; no execution yet.
        var fresh = (await (await client.GetAsync($"/api/v1/tasks/{id}", ct)).ReadJsonAsync())["data"]!;
        Assert.Equal(id, (long)fresh["id"]!);
        Assert.Equal("pending", (string?)fresh["status"]);
        Assert.Equal("shaped", (string?)fresh["title"]);
        Assert.True(fresh["result"]!.AsObject().ContainsKey("pr_url"));
        Assert.Null(fresh["result"]!["pr_url"]);
        Assert.Null(fresh["result"]!["branch"]);
        Assert.Equal(0, (long)fresh["tokens_used"]!["total"]!);
        Assert.True(fresh.AsObject().ContainsKey("workflow_execution"));
        Assert.Null(fresh["workflow_execution"]);
        Assert.Null(fresh["task"]);

        // A finished run's stored result (pull_request_url) reads as result.pr_url; tokens are summed from the ledger.
        await service.WithDbAsync(async d =>
        {
            await d.Tasks.Where(t => t.Id == id).ExecuteUpdateAsync(s => s
                .SetProperty(t => t.Status, TaskStatuses.Completed)
                .SetProperty(t => t.Branch, "devorch/task-1")
                .SetProperty(t => t.Result, """{"workflow":"standard_dev_workflow","workflow_execution_id":3,"branch":"devorch/task-1","steps":{"push":"completed"},"pull_request_url":"https://github.example/o/r/pull/7","commit_sha":"abc","review":{"verdict":"approve"}}"""), ct);
            d.CostEntries.Add(new CostEntry { TaskId = id, Provider = "anthropic", Model = "m", InputTokens = 100, OutputTokens = 20, CacheReadTokens = 5, Usd = 0.01m, CreatedAt = DateTimeOffset.UtcNow });
            d.CostEntries.Add(new CostEntry { TaskId = id, Provider = "anthropic", Model = "m", InputTokens = 50, OutputTokens = 10, Usd = 0.01m, CreatedAt = DateTimeOffset.UtcNow });
            return await d.SaveChangesAsync(ct);
        });
        var done = (await (await client.GetAsync($"/api/v1/tasks/{id}", ct)).ReadJsonAsync())["data"]!;
        Assert.Equal("completed", (string?)done["status"]);
        Assert.Equal("https://github.example/o/r/pull/7", (string?)done["result"]!["pr_url"]);
        Assert.Equal("devorch/task-1", (string?)done["result"]!["branch"]);
        Assert.Equal("abc", (string?)done["result"]!["commit_sha"]);
        Assert.Equal("approve", (string?)done["result"]!["review"]!["verdict"]);
        Assert.Equal("completed", (string?)done["result"]!["steps"]!["push"]);
        Assert.Equal(150, (long)done["tokens_used"]!["input"]!);
        Assert.Equal(185, (long)done["tokens_used"]!["total"]!);

        // The list has the same task shape (without the nested execution).
        var listed = (await (await client.GetAsync("/api/v1/tasks", ct)).ReadJsonAsync())["data"]!.AsArray().Single()!;
        Assert.Equal("https://github.example/o/r/pull/7", (string?)listed["result"]!["pr_url"]);
        Assert.Equal(185, (long)listed["tokens_used"]!["total"]!);
        Assert.False(listed.AsObject().ContainsKey("workflow_execution"));
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Agent_status_by_task_follows_a_run_and_refuses_bad_task_ids(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Admin, ct);
        using var operatorClient = await service.ClientForNewUserAsync(Roles.Operator, ct);

        Assert.Equal(HttpStatusCode.Unauthorized, (await service.Client.GetAsync("/api/v1/agents/status?task_id=1", ct)).StatusCode);
        foreach (var (query, message) in new[] { ("", "is required"), ("?task_id=", "is required"), ("?task_id=abc", "must be a task id"), ("?task_id=-3", "must be a task id") })
        {
            var bad = await client.GetAsync("/api/v1/agents/status" + query, ct);
            Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.StatusCode);
            var error = (await bad.ReadJsonAsync())["error"]!;
            Assert.Equal("VALIDATION_ERROR", (string?)error["code"]);
            Assert.Contains(message, (string?)error["details"]!["task_id"]![0], StringComparison.Ordinal);
        }

        var unknown = await client.GetAsync("/api/v1/agents/status?task_id=424242", ct);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("NOT_FOUND", (string?)(await unknown.ReadJsonAsync())["error"]!["code"]);

        var bare = await GitFixtures.CreateBareRepositoryAsync(service.State.Root, ct);
        var project = await DispatchTests.CreateProjectAsync(operatorClient, bare);
        var pending = await DispatchTests.CreateTaskAsync(operatorClient, project, "waits", "true");
        var before = (await (await client.GetAsync($"/api/v1/agents/status?task_id={pending}", ct)).ReadJsonAsync())["data"]!;
        Assert.Equal("pending", (string?)before["status"]);
        Assert.Equal("development", (string?)before["agent_type"]);
        Assert.Null(before["agent"]);
        Assert.Equal(0, (int)before["progress"]!["steps_done"]!);
        Assert.True((int)before["progress"]!["steps_total"]! > 0);
        Assert.Null(before["result"]!["pr_url"]);

        var ran = await DispatchTests.StartTaskAsync(operatorClient, project, "runs", "echo ran > RAN.txt");
        await DispatchTests.WaitForFinishAsync(operatorClient, ran);
        var after = (await (await client.GetAsync($"/api/v1/agents/status?task_id={ran}", ct)).ReadJsonAsync())["data"]!;
        Assert.Equal("completed", (string?)after["status"]);
        Assert.Equal("completed", (string?)after["agent"]!["status"]);
        Assert.Equal(ran, (long)after["agent"]!["task_id"]!);
        var progress = after["progress"]!;
        Assert.True((int)progress["steps_total"]! > 0);
        Assert.Equal((int)progress["steps_total"]!, (int)progress["steps_done"]!);
        Assert.False(string.IsNullOrEmpty((string?)progress["last_event"]!["type"]));
        Assert.NotNull(after["result"]!["branch"]);
        Assert.True(after["result"]!.AsObject().ContainsKey("pr_url"));
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Api_metrics_is_a_json_summary_and_prometheus_text_stays_at_metrics(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        // An API-only host (PostgreSQL only) has no worker: a task queued by hand stays queued. On SQLite (role all) it is not queued.
        var queueStaysPut = db == Db.Postgres;
        await using var service = await ServiceUnderTest.StartAsync(db, queueStaysPut ? Hosting.ServiceRole.Api : Hosting.ServiceRole.All, new Dictionary<string, string?> { ["MONTHLY_BUDGET_LIMIT"] = "250" }, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Viewer, ct);
        using var operatorClient = await service.ClientForNewUserAsync(Roles.Operator, ct);
        await operatorClient.PostJsonAsync("/api/v1/tasks", new { title = "one" });
        await operatorClient.PostJsonAsync("/api/v1/tasks", new { title = "two" });
        await service.WithDbAsync(async d =>
        {
            var now = DateTimeOffset.UtcNow;
            // Queued ten minutes ago on an API-only host (no worker takes it): the queue depth and its oldest age show it.
            if (queueStaysPut)
            {
                await d.Tasks.Where(t => t.Title == "two").ExecuteUpdateAsync(s => s.SetProperty(t => t.Status, TaskStatuses.Queued).SetProperty(t => t.QueuedAt, now.AddMinutes(-10)), ct);
            }

            d.CostEntries.Add(new CostEntry { Provider = "anthropic", Model = "m", Usd = 1.25m, CreatedAt = now });
            return await d.SaveChangesAsync(ct);
        });

        Assert.Equal(HttpStatusCode.Unauthorized, (await service.Client.GetAsync("/api/v1/metrics", ct)).StatusCode);
        var response = await client.GetAsync("/api/v1/metrics", ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.ReadJsonAsync();
        Assert.True((bool)body["success"]!);
        var data = body["data"]!;
        Assert.Equal(queueStaysPut ? 1 : 2, (long)data["tasks_by_status"]!["pending"]!);
        Assert.Equal(0, (long)data["tasks_by_status"]!["failed"]!);
        Assert.Equal(TaskStatuses.All.Count, data["tasks_by_status"]!.AsObject().Count);
        Assert.Equal(queueStaysPut ? 1 : 0, (long)data["tasks_by_status"]!["queued"]!);
        Assert.Equal(queueStaysPut ? 1 : 0, (long)data["queue_depth"]!);
        if (queueStaysPut)
        {
            Assert.True((double)data["oldest_queued_age_seconds"]! >= 590, data.ToJsonString());
        }
        else
        {
            Assert.Null(data["oldest_queued_age_seconds"]);
        }

        Assert.Equal(0, (long)data["active_agents"]!);
        Assert.Equal(250m, (decimal)data["spend"]!["monthly_budget_usd"]!);
        Assert.Equal(1.25m, (decimal)data["spend"]!["today_usd"]!);
        Assert.NotNull(data["spend"]!["month"]);

        var prometheus = await service.Client.GetAsync("/metrics", ct);
        Assert.Equal("text/plain", prometheus.Content.Headers.ContentType?.MediaType);
        Assert.Contains("# TYPE tasks_total", await prometheus.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
    }
}
