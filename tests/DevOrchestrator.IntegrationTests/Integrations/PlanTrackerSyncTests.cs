using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.Features.Projects;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.IntegrationTests.Integrations;

/// <summary>A generated plan is also created in the project's Jira project: epics, and tasks under them — once.</summary>
public sealed class PlanTrackerSyncTests
{
    [Fact]
    public async Task A_plan_becomes_Jira_epics_with_their_tasks_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var h = await IntegrationsHarness.StartAsync(Db.Postgres, ct);
        var plan = JsonSerializer.Serialize(new
        {
            epics = new object[]
            {
                new
                {
                    title = "Accounts",
                    description = "Let people create accounts.",
                    acceptance_criteria = new[] { "a user can sign up" },
                    tasks = new object[]
                    {
                        new { title = "Sign-up endpoint", description = "POST /signup stores a user.", acceptance_criteria = new[] { "201 on success" } },
                        new { title = "Password hashing", description = "Hash with a slow KDF.", acceptance_criteria = new[] { "no plain passwords" } },
                    },
                },
            },
        });
        h.Model.Enqueue(FakeReply.Text(plan));

        using var response = await h.Client.PostAsJsonAsync($"/api/v1/projects/{h.ProjectId}/generate-plan", new { requirements = new[] { "People can sign up." } }, ct);
        var body = await response.ReadJsonAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body.ToJsonString());
        Assert.Equal("jira", (string?)body["data"]!["tracker"]!["plugin"]);
        Assert.Equal("APP", (string?)body["data"]!["tracker"]!["project_key"]);

        var issues = await HttpJson.EventuallyAsync(() => Task.FromResult(h.Jira.Issues.Where(i => i.ProjectKey == "APP").ToList()), i => i.Count == 3, TimeSpan.FromSeconds(60));
        var epic = Assert.Single(issues, i => i.IssueType == "Epic");
        Assert.Equal("Accounts", epic.Summary);
        Assert.Equal(["Password hashing", "Sign-up endpoint"], issues.Where(i => i.IssueType == "Task").Select(i => i.Summary).Order());
        Assert.All(issues.Where(i => i.IssueType == "Task"), i => Assert.Equal(epic.Key, i.ParentKey));
        Assert.All(issues, i => Assert.True(i.Properties.ContainsKey("devorch")));

        // Each stored task knows its issue.
        var tasks = await HttpJson.EventuallyAsync(
            () => h.Service.WithDbAsync(db => db.Tasks.AsNoTracking().Where(t => t.ProjectId == h.ProjectId).ToListAsync(ct)),
            t => t.All(x => x.ExternalId is not null), TimeSpan.FromSeconds(30));
        Assert.Equal(epic.Key, tasks.Single(t => t.Kind == "epic").ExternalId);
        Assert.Equal(issues.Select(i => i.Key).Order(), tasks.Select(t => t.ExternalId!).Order());

        // The job run again (a Hangfire retry) creates nothing new.
        var creates = h.Jira.RequestsTo("POST", "/rest/api/3/issue").Count;
        await using (var scope = h.Service.App.Services.CreateAsyncScope())
        {
            var created = await scope.ServiceProvider.GetRequiredService<PlanTrackerSync>().RunAsync(h.ProjectId, [tasks.Single(t => t.Kind == "epic").Id], ct);
            Assert.Equal(0, created);
        }

        Assert.Equal(creates, h.Jira.RequestsTo("POST", "/rest/api/3/issue").Count);
        Assert.Equal(3, h.Jira.Issues.Count(i => i.ProjectKey == "APP"));
    }
}
