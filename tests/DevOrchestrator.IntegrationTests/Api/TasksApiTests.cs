using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.IntegrationTests.Api;

public sealed class TasksApiTests
{
    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Validation_errors_name_every_offending_field(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Operator, ct);

        var response = await client.PostJsonAsync("/api/v1/tasks", new { title = "", priority = "urgent", source = "fax", agent_type = "wizard", workflow = "nope", project_id = 999 });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.ReadJsonAsync())["error"]!;
        Assert.Equal("VALIDATION_ERROR", (string?)error["code"]);
        var fields = error["details"]!.AsObject().Select(kv => kv.Key).Order().ToArray();
        Assert.Equal(["agent_type", "priority", "project_id", "source", "title", "workflow"], fields);

        var wrongType = await client.PostAsync("/api/v1/tasks", new StringContent("""{"title": 5}""", System.Text.Encoding.UTF8, "application/json"), ct);
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.StatusCode);
        Assert.NotNull((await wrongType.ReadJsonAsync())["error"]!["details"]!["title"]);

        var broken = await client.PostAsync("/api/v1/tasks", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json"), ct);
        Assert.Equal(HttpStatusCode.BadRequest, broken.StatusCode);
        Assert.Equal("VALIDATION_ERROR", (string?)(await broken.ReadJsonAsync())["error"]!["code"]);

        var badPaging = await client.GetAsync("/api/v1/tasks?page=0&per_page=1000&sort=color&order=up&status=weird", ct);
        Assert.Equal(HttpStatusCode.BadRequest, badPaging.StatusCode);
        var pagingFields = (await badPaging.ReadJsonAsync())["error"]!["details"]!.AsObject().Select(kv => kv.Key).Order().ToArray();
        Assert.Equal(["order", "page", "per_page", "sort", "status"], pagingFields);

        var missing = await client.GetAsync("/api/v1/tasks/424242", ct);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("NOT_FOUND", (string?)(await missing.ReadJsonAsync())["error"]!["code"]);
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Idempotency_key_returns_the_first_result_and_stores_one_task(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Operator, ct);

        async Task<HttpResponseMessage> CreateAsync(string title)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/tasks") { Content = JsonContent.Create(new { title }) };
            request.Headers.Add("Idempotency-Key", "key-123");
            return await client.SendAsync(request, ct);
        }

        // Concurrent repeats too: the unique index decides, every caller gets the same task.
        var responses = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => CreateAsync("first")));
        var ids = new HashSet<long>();
        foreach (var response in responses)
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            ids.Add((long)(await response.ReadJsonAsync())["data"]!["id"]!);
        }

        Assert.Single(ids);
        var again = await CreateAsync("first");
        Assert.Equal(ids.Single(), (long)(await again.ReadJsonAsync())["data"]!["id"]!);
        Assert.Equal("true", again.Headers.GetValues("Idempotent-Replayed").Single());
        // The same key with another body is not a repeat (TaskLifecycleTests covers expiry).
        Assert.Equal(HttpStatusCode.Conflict, (await CreateAsync("something else")).StatusCode);
        Assert.Equal(1, await service.WithDbAsync(d => d.Tasks.CountAsync(ct)));

        // Another key makes another task; the same external id from the same source is a conflict.
        var other = await client.PostJsonAsync("/api/v1/tasks", new { title = "x", source = "jira", external_id = "PROJ-1" });
        Assert.Equal(HttpStatusCode.Created, other.StatusCode);
        var duplicate = await client.PostJsonAsync("/api/v1/tasks", new { title = "x", source = "jira", external_id = "PROJ-1" });
        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        Assert.Equal("CONFLICT", (string?)(await duplicate.ReadJsonAsync())["error"]!["code"]);
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Lists_paginate_filter_and_sort(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Operator, ct);
        var repository = await GitFixtures.CreateBareRepositoryAsync(service.State.Root, ct);
        var project = (long)(await (await client.PostJsonAsync("/api/v1/projects", new { name = "web", repository_url = repository })).ReadJsonAsync())["data"]!["id"]!;
        for (var i = 1; i <= 5; i++)
        {
            var created = await client.PostJsonAsync("/api/v1/tasks", new { title = $"task {i}", project_id = i <= 3 ? project : (long?)null, priority = i == 4 ? "critical" : "low" });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var page1 = await (await client.GetAsync("/api/v1/tasks?per_page=2&sort=id&order=asc", ct)).ReadJsonAsync();
        Assert.Equal(["task 1", "task 2"], Titles(page1));
        Assert.Equal(5, (int)page1["pagination"]!["total"]!);
        Assert.Equal(3, (int)page1["pagination"]!["pages"]!);
        var page3 = await (await client.GetAsync("/api/v1/tasks?per_page=2&page=3&sort=id&order=asc", ct)).ReadJsonAsync();
        Assert.Equal(["task 5"], Titles(page3));

        var byProject = await (await client.GetAsync($"/api/v1/tasks?project_id={project}&sort=id&order=desc", ct)).ReadJsonAsync();
        Assert.Equal(["task 3", "task 2", "task 1"], Titles(byProject));
        var byPriority = await (await client.GetAsync("/api/v1/tasks?sort=priority&order=desc&per_page=1", ct)).ReadJsonAsync();
        Assert.Equal(["task 4"], Titles(byPriority));
        var bySource = await (await client.GetAsync("/api/v1/tasks?source=github", ct)).ReadJsonAsync();
        Assert.Empty(Titles(bySource));
        var byStatus = await (await client.GetAsync("/api/v1/tasks?status=pending", ct)).ReadJsonAsync();
        Assert.Equal(5, (int)byStatus["pagination"]!["total"]!);

        var updated = await client.PatchAsJsonAsync($"/api/v1/tasks/{(long)page1["data"]![0]!["id"]!}", new { title = "renamed", priority = "high" }, ct);
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.Equal("renamed", (string?)(await updated.ReadJsonAsync())["data"]!["title"]);

        var projects = await (await client.GetAsync("/api/v1/projects", ct)).ReadJsonAsync();
        Assert.Equal(repository, (string?)projects["data"]![0]!["repository_url"]);
        Assert.Equal(HttpStatusCode.Conflict, (await client.PostJsonAsync("/api/v1/projects", new { name = "web" })).StatusCode);
    }

    private static string[] Titles(JsonNode page) => page["data"]!.AsArray().Select(t => (string)t!["title"]!).ToArray();
}
