using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Features.Events;
using DevOrchestrator.Features.Tasks;
using DevOrchestrator.Hosting;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using static DevOrchestrator.IntegrationTests.Dispatch.DispatchTests;

namespace DevOrchestrator.IntegrationTests.Dispatch;

/// <summary>
/// A task's life under the faults users meet: clients that go away mid-request, the database dropping connections,
/// Redis down, repeated and conflicting Idempotency-Keys; and the one status event shape of every transition.
/// </summary>
public sealed class TaskLifecycleTests
{
    [Fact]
    public async Task A_client_that_disconnects_while_its_create_waits_on_the_database_still_gets_its_task_queued_and_run()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(Db.Postgres, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Operator, ct);
        var bare = await GitFixtures.CreateBareRepositoryAsync(service.State.Root, ct);
        var project = await CreateProjectAsync(client, bare);
        var title = "asked for, then abandoned " + Guid.NewGuid().ToString("N")[..6];

        // Another session holds the tasks table: the create's insert waits (reads still pass).
        await using var blocker = new NpgsqlConnection(DatabaseUrls.ToNpgsqlConnectionString(service.State.DatabaseUrl!));
        await blocker.OpenAsync(ct);
        var lockTransaction = await blocker.BeginTransactionAsync(ct);
        await using (var lockTable = new NpgsqlCommand("LOCK TABLE tasks IN EXCLUSIVE MODE", blocker, lockTransaction))
        {
            await lockTable.ExecuteNonQueryAsync(ct);
        }

        using var impatient = new CancellationTokenSource();
        var request = client.PostAsync("/api/v1/tasks", JsonContent(new
        {
            title,
            project_id = project,
            workflow = "run_command_workflow",
            variables = new { command = "echo kept > KEPT.txt" },
            auto_start = true,
        }), impatient.Token);
        await HttpJson.EventuallyAsync(() => WaitingOnTasksLockAsync(blocker, lockTransaction), n => n > 0, TimeSpan.FromSeconds(30));
        Assert.True(await WaitingOnTasksLockAsync(blocker, lockTransaction) > 0, "the create never reached the insert");

        // The client goes away (a proxy's time-out, wrk's end, Ctrl+C) while the insert waits.
        await impatient.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        await Task.Delay(300, ct);
        await lockTransaction.RollbackAsync(ct);

        var id = await HttpJson.EventuallyAsync(
            () => service.WithDbAsync(d => d.Tasks.Where(t => t.Title == title).Select(t => (long?)t.Id).SingleOrDefaultAsync(ct)),
            found => found is not null, TimeSpan.FromSeconds(30));
        Assert.NotNull(id);
        var task = await WaitForFinishAsync(client, id!.Value);
        Assert.Equal("completed", (string?)task["status"]);
        Assert.Equal("kept", await GitFixtures.GitAsync(bare, ct, "show", $"{(string?)task["branch"]}:KEPT.txt"));
        Assert.Equal(1, await service.WithDbAsync(d => d.Tasks.CountAsync(t => t.Title == title, ct)));
    }

    [Fact]
    public async Task Tasks_complete_while_postgresql_terminates_the_service_connections()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(Db.Postgres, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Operator, ct);
        var bare = await GitFixtures.CreateBareRepositoryAsync(service.State.Root, ct);
        var project = await CreateProjectAsync(client, bare);
        var ids = new List<long>();
        for (var i = 0; i < 6; i++)
        {
            ids.Add(await StartTaskAsync(client, project, $"through the storm {i}", $"sleep 0.{3 + i}; echo {i} > N.txt"));
        }

        // pg_terminate_backend on every connection of the service, three times while the tasks run (57P01 for the
        // commands in flight, broken connections in the pools, the LISTEN connection gone).
        var database = new NpgsqlConnectionStringBuilder(DatabaseUrls.ToNpgsqlConnectionString(service.State.DatabaseUrl!)).Database!;
        await using (var admin = new NpgsqlConnection(DatabaseUrls.ToNpgsqlConnectionString(TestDatabases.AdminUrl)))
        {
            await admin.OpenAsync(ct);
            for (var round = 0; round < 3; round++)
            {
                await using var terminate = new NpgsqlCommand(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = @db AND pid <> pg_backend_pid()", admin);
                terminate.Parameters.AddWithValue("db", database);
                await terminate.ExecuteScalarAsync(ct);
                await Task.Delay(400, ct);
            }
        }

        // A create right after the last round works too (the pool replaces the dead connections).
        ids.Add(await StartTaskAsync(client, project, "after the storm", "echo after > N.txt"));
        foreach (var id in ids)
        {
            var task = await WaitForFinishAsync(client, id);
            Assert.Equal("completed", (string?)task["status"]);
        }

        Assert.Equal(ids.Count, await service.WithDbAsync(d => d.Events.CountAsync(
            e => e.TaskId != null && ids.Contains(e.TaskId.Value) && e.Type == EventTypes.TaskStatusUpdate && e.Payload.Contains("\"status\":\"completed\""), ct)));
    }

    [Fact]
    public async Task A_worker_starts_and_works_while_a_killed_worker_still_holds_the_recurring_job_lock()
    {
        var ct = TestContext.Current.CancellationToken;
        var jira = new Dictionary<string, string?>
        {
            ["JIRA_URL"] = "http://127.0.0.1:9",
            ["JIRA_EMAIL"] = "bot@example.com",
            ["JIRA_API_TOKEN"] = "not-used-here",
            ["JIRA_POLL_INTERVAL_SECONDS"] = "60",
        };
        await using var api = await ServiceUnderTest.StartAsync(Db.Postgres, ServiceRole.Api, jira, cancellationToken: ct);
        using var client = await api.ClientForNewUserAsync(Roles.Operator, ct);
        var bare = await GitFixtures.CreateBareRepositoryAsync(api.State.Root, ct);
        var project = await CreateProjectAsync(client, bare);

        // What a worker killed while scheduling the poll leaves behind: Hangfire's lock row, freshly acquired.
        await using var db = new NpgsqlConnection(DatabaseUrls.ToNpgsqlConnectionString(api.State.DatabaseUrl!));
        await db.OpenAsync(ct);
        await using (var hold = new NpgsqlCommand("INSERT INTO hangfire.lock (resource, updatecount, acquired) VALUES ('lock:recurring-job:jira-intake-poll', 0, now())", db))
        {
            await hold.ExecuteNonQueryAsync(ct);
        }

        // The new worker starts at once and runs tasks; it does not exit and does not wait for the lock.
        await using var worker = await ServiceUnderTest.StartAsync(Db.Postgres, ServiceRole.Worker, jira, shareWith: api, cancellationToken: ct);
        var id = await StartTaskAsync(client, project, "while the lock is held", "echo ok > OK.txt");
        Assert.Equal("completed", (string?)(await WaitForFinishAsync(client, id))["status"]);
        Assert.Equal(HttpStatusCode.OK, (await worker.Client.GetAsync("/health/live", ct)).StatusCode);

        // Once the lock is gone the schedule is made, in the background.
        await using (var release = new NpgsqlCommand("DELETE FROM hangfire.lock WHERE resource = 'lock:recurring-job:jira-intake-poll'", db))
        {
            await release.ExecuteNonQueryAsync(ct);
        }

        var scheduled = await HttpJson.EventuallyAsync(
            async () =>
            {
                await using var count = new NpgsqlCommand("SELECT count(*) FROM hangfire.set WHERE key = 'recurring-jobs' AND value = 'jira-intake-poll'", db);
                return (long)(await count.ExecuteScalarAsync(ct))!;
            },
            n => n == 1, TimeSpan.FromSeconds(60));
        Assert.Equal(1, scheduled);
    }

    [Fact]
    public async Task A_process_whose_pool_alone_could_exceed_max_connections_warns_at_start_naming_the_setting()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var first = await ServiceUnderTest.StartAsync(Db.Postgres, ServiceRole.Api, cancellationToken: ct);
        var log = Path.Combine(first.State.Root, "budget.log");
        await using var greedy = await ServiceUnderTest.StartAsync(Db.Postgres, ServiceRole.Worker, new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = first.State.DatabaseUrl + "?maximum%20pool%20size=100000",
            ["LOG_FILE"] = log,
        }, shareWith: first, cancellationToken: ct);

        var text = await HttpJson.EventuallyAsync(
            async () => File.Exists(log) ? await File.ReadAllTextAsync(log, ct) : "",
            t => t.Contains("connection budget exceeded", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        Assert.Contains("PostgreSQL connection budget exceeded: this process alone may open 100006 connections", text, StringComparison.Ordinal);
        Assert.Contains("Maximum Pool Size", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_redis_down_a_create_succeeds_and_the_task_runs_while_health_says_degraded()
    {
        var ct = TestContext.Current.CancellationToken;
        // Nothing listens on port 1: Redis is down for the whole life of this service.
        await using var service = await ServiceUnderTest.StartAsync(Db.Postgres, settings: new Dictionary<string, string?> { ["REDIS_URL"] = "redis://127.0.0.1:1/0" }, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Operator, ct);
        var bare = await GitFixtures.CreateBareRepositoryAsync(service.State.Root, ct);
        var project = await CreateProjectAsync(client, bare);

        var id = await StartTaskAsync(client, project, "no redis needed", "echo fine > FINE.txt");
        Assert.Equal("completed", (string?)(await WaitForFinishAsync(client, id))["status"]);

        var health = await (await service.Client.GetAsync("/health", ct)).ReadJsonAsync();
        Assert.Equal("degraded", (string?)health["status"]);
        Assert.Equal("degraded", (string?)health["services"]!["redis"]!["status"]);
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task An_idempotency_key_replays_the_same_body_refuses_another_body_and_expires_after_a_day(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Operator, ct);
        var key = "key-" + Guid.NewGuid().ToString("N");
        async Task<(HttpStatusCode Status, JsonNode Body, HttpResponseMessage Response)> CreateAsync(object body)
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, "/api/v1/tasks") { Content = JsonContent(body) };
            message.Headers.Add("Idempotency-Key", key);
            var response = await client.SendAsync(message, ct);
            return (response.StatusCode, await response.ReadJsonAsync(), response);
        }

        var first = await CreateAsync(new { title = "once", description = "the body" });
        Assert.Equal(HttpStatusCode.Created, first.Status);
        var id = (long)first.Body["data"]!["id"]!;

        var repeat = await CreateAsync(new { title = "once", description = "the body" });
        Assert.Equal(HttpStatusCode.Created, repeat.Status);
        Assert.Equal(id, (long)repeat.Body["data"]!["id"]!);
        Assert.Equal("true", repeat.Response.Headers.GetValues("Idempotent-Replayed").Single());

        var other = await CreateAsync(new { title = "once", description = "another body" });
        Assert.Equal(HttpStatusCode.Conflict, other.Status);
        Assert.Equal("CONFLICT", (string?)other.Body["error"]!["code"]);
        Assert.Contains("different request body", (string?)other.Body["error"]!["message"]);

        // A day later the key is free again: a new task, and the first one keeps everything but the key.
        await service.WithDbAsync(d => d.Tasks.Where(t => t.Id == id).ExecuteUpdateAsync(s => s.SetProperty(t => t.CreatedAt, DateTimeOffset.UtcNow.AddHours(-25)), ct));
        var later = await CreateAsync(new { title = "once more", description = "another day" });
        Assert.Equal(HttpStatusCode.Created, later.Status);
        Assert.NotEqual(id, (long)later.Body["data"]!["id"]!);
        Assert.Equal("once", await service.WithDbAsync(d => d.Tasks.Where(t => t.Id == id).Select(t => t.Title).SingleAsync(ct)));
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Every_transition_emits_one_task_status_update_of_one_shape_allowed_by_the_state_machine(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Operator, ct);
        var bare = await GitFixtures.CreateBareRepositoryAsync(service.State.Root, ct);
        var project = await CreateProjectAsync(client, bare);

        // created pending → queued → running → completed → queued again → running → failed; another pending → cancelled.
        var ran = await CreateTaskAsync(client, project, "walks the states", "echo one > ONE.txt");
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostJsonAsync($"/api/v1/tasks/{ran}/assign-to-agent", new { })).StatusCode);
        Assert.Equal("completed", (string?)(await WaitForFinishAsync(client, ran))["status"]);
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostJsonAsync($"/api/v1/tasks/{ran}/assign-to-agent", new { variables = new { command = "exit 3" } })).StatusCode);
        var second = await WaitForFinishAsync(client, ran);
        Assert.Equal("failed", (string?)second["status"]);
        var cancelled = await CreateTaskAsync(client, project, "never runs", "true");
        Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync($"/api/v1/tasks/{cancelled}/cancel", new { reason = "not needed" })).StatusCode);
        var started = await StartTaskAsync(client, project, "auto-started", "true");
        Assert.Equal("completed", (string?)(await WaitForFinishAsync(client, started))["status"]);

        var ids = new[] { ran, cancelled, started };
        var events = await service.WithDbAsync(d => d.Events.AsNoTracking()
            .Where(e => e.TaskId != null && ids.Contains(e.TaskId.Value) && e.Type == EventTypes.TaskStatusUpdate).OrderBy(e => e.Id).ToListAsync(ct));
        var shape = typeof(TaskStatusUpdate).GetProperties().Select(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name)).Order().ToList();
        var walks = new Dictionary<long, List<string>>();
        foreach (var ev in events)
        {
            var payload = JsonNode.Parse(ev.Payload)!.AsObject();
            Assert.Equal(shape, payload.Select(p => p.Key).Order().ToList());
            Assert.Equal(ev.TaskId, (long)payload["task_id"]!);
            var from = (string?)payload["previous_status"];
            var to = (string)payload["status"]!;
            var cause = Enum.Parse<TaskTransitions.Cause>(((string)payload["cause"]!).Replace("_", ""), ignoreCase: true);
            Assert.True(TaskTransitions.IsAllowed(from, to, cause), $"{from} -> {to} ({cause}) is not in the state machine");
            walks.TryAdd(ev.TaskId!.Value, []);
            walks[ev.TaskId.Value].Add(to);
        }

        Assert.Equal(["pending", "queued", "running", "completed", "queued", "running", "failed"], walks[ran]);
        Assert.Equal(["pending", "cancelled"], walks[cancelled]);
        Assert.Equal(["queued", "running", "completed"], walks[started]);
    }

    private static StringContent JsonContent(object body) =>
        new(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");

    private static async Task<long> WaitingOnTasksLockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'tasks'::regclass", connection, transaction);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
