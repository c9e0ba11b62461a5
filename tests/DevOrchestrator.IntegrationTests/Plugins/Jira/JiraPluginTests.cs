using System.Text.Json.Nodes;
using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.FakeVendors;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.IntegrationTests.Plugins.Jira;

/// <summary>The Jira plugin against the fake Jira site over HTTP: what it sends, and what it makes of the answers.</summary>
public sealed class JiraPluginTests
{
    private static readonly string[] IssueFieldList = ["summary", "description", "status", "issuetype", "project", "labels"];

    [Fact]
    public async Task Connect_and_health_ask_myself_with_basic_auth_of_email_and_token()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await JiraTestHost.StartAsync(ct);

        var connection = await host.Plugin.ConnectAsync(ct);
        var health = await host.Plugin.CheckHealthAsync(ct);

        Assert.Equal(FakeJiraServer.DisplayName, connection.Identity);
        Assert.Equal(FakeJiraServer.AccountId, connection.Details!["account_id"]);
        Assert.True(health.Healthy, health.Message);
        Assert.Contains(FakeJiraServer.DisplayName, health.Message, StringComparison.Ordinal);
        var requests = host.Server.RequestsTo("GET", "/rest/api/3/myself");
        Assert.Equal(2, requests.Count);
        Assert.All(requests, r => Assert.Equal(host.Server.ExpectedAuthorization, r.Headers["Authorization"]));
        Assert.All(requests, r => Assert.Equal(200, r.StatusCode));
        Assert.True(host.Plugin.IsConfigured);
    }

    [Fact]
    public async Task Bad_credentials_are_a_401_plugin_error_that_names_the_settings_but_never_the_token()
    {
        var ct = TestContext.Current.CancellationToken;
        const string wrongToken = "wrong-token-value-7f3a";
        await using var host = await JiraTestHost.StartAsync(ct, apiToken: wrongToken);

        var error = await Assert.ThrowsAsync<PluginException>(() => host.Plugin.ConnectAsync(ct));
        var health = await host.Plugin.CheckHealthAsync(ct);

        Assert.Equal(401, error.StatusCode);
        Assert.Equal("jira", error.Plugin);
        Assert.Contains("JIRA_API_TOKEN", error.Message, StringComparison.Ordinal);
        Assert.Contains("Client must be authenticated", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrongToken, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{host.Server.Email}:{wrongToken}")), error.Message, StringComparison.Ordinal);
        Assert.False(health.Healthy);
        Assert.DoesNotContain(wrongToken, health.Message, StringComparison.Ordinal);
        // A 401 is not retried: one request per call.
        Assert.Equal(2, host.Server.RequestsTo("GET", "/rest/api/3/myself").Count);
        Assert.All(host.Server.Requests, r => Assert.Equal(401, r.StatusCode));
    }

    [Fact]
    public async Task Credentials_changed_in_configuration_are_used_on_the_next_call()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await JiraTestHost.StartAsync(ct, apiToken: "stale-token");
        await Assert.ThrowsAsync<PluginException>(() => host.Plugin.ConnectAsync(ct));

        host.Configuration["JIRA_API_TOKEN"] = host.Server.ApiToken;
        host.Configuration.Reload();
        var connection = await host.Plugin.ConnectAsync(ct);

        Assert.Equal(FakeJiraServer.DisplayName, connection.Identity);
        Assert.Equal([401, 200], host.Server.Requests.Select(r => r.StatusCode));
    }

    [Fact]
    public async Task Get_issue_asks_for_the_needed_fields_and_converts_the_ADF_description_to_text()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await JiraTestHost.StartAsync(ct);
        var description = JsonNode.Parse("""
            {"type":"doc","version":1,"content":[
              {"type":"paragraph","content":[{"type":"text","text":"Checkout fails for "},{"type":"mention","attrs":{"id":"abc","text":"@Mia"}},{"type":"text","text":"."}]},
              {"type":"bulletList","content":[
                {"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"step one"}]}]},
                {"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"step two"}]}]}]}]}
            """)!.AsObject();
        var added = host.Server.AddIssue("PROJ", "Checkout is broken", description, ["ai-dev", "backend"], status: "In Progress");

        var issue = await host.Plugin.GetIssueAsync(added.Key, ct);

        Assert.Equal("PROJ-1", issue.Key);
        Assert.Equal(added.Id, issue.Id);
        Assert.Equal("Checkout is broken", issue.Title);
        Assert.Equal("Checkout fails for @Mia.\n\n- step one\n- step two", issue.Description);
        Assert.Equal("In Progress", issue.Status);
        Assert.Equal("Task", issue.IssueType);
        Assert.Equal("PROJ", issue.ProjectKey);
        Assert.Equal(["ai-dev", "backend"], issue.Labels);
        Assert.Equal($"{host.SiteUrl}/browse/PROJ-1", issue.Url);
        Assert.False(issue.Created);
        var request = Assert.Single(host.Server.Requests);
        Assert.Equal("GET", request.Method);
        Assert.Equal("/rest/api/3/issue/PROJ-1", request.Path);
        Assert.Equal("?fields=summary,description,status,issuetype,project,labels", request.Query);
        Assert.Equal(host.Server.ExpectedAuthorization, request.Headers["Authorization"]);
    }

    [Fact]
    public async Task A_missing_issue_is_a_not_found_plugin_error_with_Jiras_message()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await JiraTestHost.StartAsync(ct);

        var error = await Assert.ThrowsAsync<PluginException>(() => host.Plugin.GetIssueAsync("PROJ-404", ct));

        Assert.True(error.IsNotFound);
        Assert.Contains("Issue does not exist", error.Message, StringComparison.Ordinal);
        Assert.Contains("/rest/api/3/issue/PROJ-404", error.Message, StringComparison.Ordinal);
        Assert.Single(host.Server.Requests); // a 404 is not retried
    }

    [Fact]
    public async Task Search_pages_through_three_pages_with_next_page_tokens_using_the_intake_JQL()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await JiraTestHost.StartAsync(ct);
        for (var i = 1; i <= 7; i++)
        {
            host.Server.AddIssue("PROJ", $"Intake {i}", labels: ["ai-dev"]);
        }

        host.Server.AddIssue("PROJ", "Not labelled");
        host.Server.AddIssue("PROJ", "Labelled but done", labels: ["ai-dev"], status: "Done");
        host.Server.AddIssue("OTHER", "Other project", labels: ["ai-dev"]);
        var jql = host.Plugin.BuildIntakeJql(["PROJ"]);
        Assert.Equal("""project in ("PROJ") AND labels = "ai-dev" AND status = "To Do" """.TrimEnd(), jql);

        var pages = new List<TrackerIssuePage>();
        string? token = null;
        do
        {
            var page = await host.Plugin.SearchAsync(jql, token, 3, ct);
            pages.Add(page);
            token = page.NextPageToken;
        }
        while (token is not null && pages.Count < 10);

        Assert.Equal([3, 3, 1], pages.Select(p => p.Issues.Count));
        Assert.Equal(Enumerable.Range(1, 7).Select(i => $"Intake {i}"), pages.SelectMany(p => p.Issues).Select(i => i.Title));
        Assert.All(pages.SelectMany(p => p.Issues), i => Assert.Equal("To Do", i.Status));
        Assert.NotNull(pages[0].NextPageToken);
        Assert.NotNull(pages[1].NextPageToken);
        Assert.Null(pages[2].NextPageToken);

        var requests = host.Server.RequestsTo("POST", "/rest/api/3/search/jql");
        Assert.Equal(3, requests.Count);
        Assert.All(requests, r =>
        {
            Assert.Equal(jql, (string?)r.Json!["jql"]);
            Assert.Equal(3, (int)r.Json["maxResults"]!);
            Assert.Equal(IssueFieldList, r.Json["fields"]!.AsArray().Select(f => (string?)f));
            Assert.Equal(host.Server.ExpectedAuthorization, r.Headers["Authorization"]);
        });
        Assert.Null(requests[0].Json!["nextPageToken"]);
        Assert.Equal(pages[0].NextPageToken, (string?)requests[1].Json!["nextPageToken"]);
        Assert.Equal(pages[1].NextPageToken, (string?)requests[2].Json!["nextPageToken"]);
    }

    [Fact]
    public async Task Create_issue_sends_fields_ADF_description_parent_and_the_idempotency_property()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await JiraTestHost.StartAsync(ct);

        var epic = await host.Plugin.CreateIssueAsync(
            new TrackerIssueDraft("PROJ", "Payments revamp", null, "epic", null, []), "plan-1:epic", ct);
        var task = await host.Plugin.CreateIssueAsync(
            new TrackerIssueDraft("PROJ", "Add refunds", "Refund a payment.\nAny amount.\n\n```csharp\nRefund(id);\n```", "task", epic.Key, ["ai-dev", "payments team"]),
            "plan-1:task-1", ct);

        Assert.True(epic.Created);
        Assert.Equal("Epic", epic.IssueType);
        Assert.Equal("PROJ-1", epic.Key);
        Assert.True(task.Created);
        Assert.Equal("PROJ-2", task.Key);
        Assert.Equal("Add refunds", task.Title);
        Assert.Equal("Task", task.IssueType);
        Assert.Equal("To Do", task.Status);
        Assert.Equal(["ai-dev", "payments-team"], task.Labels);
        Assert.Equal("Refund a payment.\nAny amount.\n\n```csharp\nRefund(id);\n```", task.Description);
        Assert.Equal($"{host.SiteUrl}/browse/PROJ-2", task.Url);

        var creates = host.Server.RequestsTo("POST", "/rest/api/3/issue");
        Assert.Equal(2, creates.Count);
        Assert.All(creates, r => Assert.Equal(201, r.StatusCode));
        var epicFields = creates[0].Json!["fields"]!;
        Assert.Equal("Epic", (string?)epicFields["issuetype"]!["name"]);
        Assert.Null(epicFields["description"]);
        Assert.Null(epicFields["parent"]);
        var body = creates[1].Json!;
        var fields = body["fields"]!;
        Assert.Equal(host.Server.ExpectedAuthorization, creates[1].Headers["Authorization"]);
        Assert.Equal("PROJ", (string?)fields["project"]!["key"]);
        Assert.Equal("Add refunds", (string?)fields["summary"]);
        Assert.Equal("Task", (string?)fields["issuetype"]!["name"]);
        Assert.Equal("PROJ-1", (string?)fields["parent"]!["key"]);
        Assert.Equal(["ai-dev", "payments-team"], fields["labels"]!.AsArray().Select(l => (string?)l));
        var doc = fields["description"]!;
        Assert.Equal("doc", (string?)doc["type"]);
        Assert.Equal(1, (int)doc["version"]!);
        Assert.Equal(["paragraph", "codeBlock"], doc["content"]!.AsArray().Select(b => (string?)b!["type"]));
        Assert.Equal(["text", "hardBreak", "text"], doc["content"]![0]!["content"]!.AsArray().Select(b => (string?)b!["type"]));
        Assert.Equal("csharp", (string?)doc["content"]![1]!["attrs"]!["language"]);
        Assert.Equal("Refund(id);", (string?)doc["content"]![1]!["content"]![0]!["text"]);
        var property = Assert.Single(body["properties"]!.AsArray());
        Assert.Equal("devorch", (string?)property!["key"]);
        Assert.Equal("plan-1:task-1", (string?)property["value"]!["idempotency_key"]);

        // The issue was read back, and the site holds the property.
        Assert.Single(host.Server.RequestsTo("GET", "/rest/api/3/issue/PROJ-2"));
        var stored = host.Server.Issue("PROJ-2")!;
        Assert.Equal("plan-1:task-1", (string?)stored.Properties["devorch"]["idempotency_key"]);
        Assert.Equal("PROJ-1", stored.ParentKey);
    }

    [Fact]
    public async Task Create_issue_uses_the_issue_type_mapping_and_surfaces_Jiras_field_errors()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await JiraTestHost.StartAsync(ct, settings: new Dictionary<string, string?>
        {
            ["JIRA_ISSUE_TYPE_TASK"] = "Story",
            ["JIRA_ISSUE_TYPE_EPIC"] = "Initiative",
        });

        var story = await host.Plugin.CreateIssueAsync(new TrackerIssueDraft("PROJ", "A story", null, "task", null, []), "k-1", ct);
        var error = await Assert.ThrowsAsync<PluginException>(() =>
            host.Plugin.CreateIssueAsync(new TrackerIssueDraft("PROJ", "An initiative", null, "epic", null, []), "k-2", ct));

        Assert.Equal("Story", story.IssueType);
        Assert.Equal(400, error.StatusCode);
        Assert.Contains("issuetype: Specify a valid issue type", error.Message, StringComparison.Ordinal);
        Assert.Equal("Initiative", (string?)host.Server.RequestsTo("POST", "/rest/api/3/issue")[1].Json!["fields"]!["issuetype"]!["name"]);
        Assert.Single(host.Server.Issues);
    }

    [Fact]
    public async Task Find_issue_searches_by_project_and_escaped_summary_then_checks_the_property()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await JiraTestHost.StartAsync(ct);
        var draft = new TrackerIssueDraft("PROJ", "Fix \"quoted\" [thing]: a+b", "body", "task", null, []);
        host.Server.AddIssue("PROJ", draft.Title); // same title, made by a person: no property
        var created = await host.Plugin.CreateIssueAsync(draft, "idem-42", ct);
        host.Server.AddIssue("PROJ", "Unrelated");
        host.Server.ClearRequests();

        var found = await host.Plugin.FindIssueAsync(draft, "idem-42", ct);
        var missing = await host.Plugin.FindIssueAsync(draft, "idem-other", ct);

        Assert.NotNull(found);
        Assert.Equal(created.Key, found.Key);
        Assert.Equal("PROJ-2", found.Key);
        Assert.False(found.Created);
        Assert.Null(missing);
        var search = host.Server.RequestsTo("POST", "/rest/api/3/search/jql")[0];
        Assert.Equal("""project = "PROJ" AND summary ~ "Fix quoted thing a b" ORDER BY created DESC""", (string?)search.Json!["jql"]);
        // Both same-titled issues were candidates; their devorch property was read.
        Assert.Equal(200, host.Server.RequestsTo("GET", "/rest/api/3/issue/PROJ-2/properties/devorch")[0].StatusCode);
        Assert.All(host.Server.RequestsTo("GET", "/rest/api/3/issue/PROJ-1/properties/devorch"), r => Assert.Equal(404, r.StatusCode));
        Assert.Empty(host.Server.RequestsTo("GET", "/rest/api/3/issue/PROJ-3/properties/devorch"));
    }

    [Fact]
    public async Task Add_comment_posts_ADF_with_the_property_and_find_comment_pages_to_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await JiraTestHost.StartAsync(ct);
        var issue = host.Server.AddIssue("PROJ", "Commented");
        host.Server.AddComment(issue.Key, "an early comment by a person");

        var comment = await host.Plugin.AddCommentAsync(issue.Key, "PR opened: https://example.test/pr/1\nPlease review.", "task-7:comment", ct);
        for (var i = 0; i < 150; i++)
        {
            host.Server.AddComment(issue.Key, $"chatter {i}");
        }

        var found = await host.Plugin.FindCommentAsync(issue.Key, "task-7:comment", ct);
        host.Server.ClearRequests();
        var missing = await host.Plugin.FindCommentAsync(issue.Key, "task-7:other", ct);

        var stored = host.Server.Issue(issue.Key)!.Comments[1];
        Assert.Equal(stored.Id, comment.Id);
        Assert.True(comment.Created);
        Assert.Equal($"{host.SiteUrl}/browse/PROJ-1?focusedCommentId={stored.Id}", comment.Url);
        Assert.Equal("task-7:comment", (string?)stored.Properties["devorch"]["idempotency_key"]);
        Assert.Equal(["text", "hardBreak", "text"], stored.Body["content"]![0]!["content"]!.AsArray().Select(n => (string?)n!["type"]));

        Assert.NotNull(found);
        Assert.Equal(comment.Id, found.Id);
        Assert.Equal(comment.Url, found.Url);
        Assert.False(found.Created);
        Assert.Null(missing);
        // 152 comments: the unsuccessful search read both pages, with properties expanded.
        var listings = host.Server.RequestsTo("GET", "/rest/api/3/issue/PROJ-1/comment");
        Assert.Equal(2, listings.Count);
        Assert.Contains("startAt=0", listings[0].Query, StringComparison.Ordinal);
        Assert.Contains("startAt=100", listings[1].Query, StringComparison.Ordinal);
        Assert.All(listings, r => Assert.Contains("expand=properties", r.Query, StringComparison.Ordinal));
        Assert.All(listings, r => Assert.Equal(host.Server.ExpectedAuthorization, r.Headers["Authorization"]));
    }

    [Fact]
    public async Task Find_comment_reads_each_comments_property_when_the_listing_does_not_expand_them()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await JiraTestHost.StartAsync(ct);
        var issue = host.Server.AddIssue("PROJ", "Commented");
        host.Server.AddComment(issue.Key, "a person's comment");
        var comment = await host.Plugin.AddCommentAsync(issue.Key, "ours", "idem-c", ct);
        host.Server.ExpandCommentProperties = false;
        host.Server.ClearRequests();

        var found = await host.Plugin.FindCommentAsync(issue.Key, "idem-c", ct);

        Assert.Equal(comment.Id, found?.Id);
        // Newest first: ours is the first comment listed, so its property is the only one read.
        var propertyRead = Assert.Single(host.Server.RequestsTo("GET", "/rest/api/3/comment/*/properties/devorch"));
        Assert.Equal($"/rest/api/3/comment/{comment.Id}/properties/devorch", propertyRead.Path);
    }

    [Fact]
    public async Task Transition_moves_through_the_transition_whose_target_is_the_mapped_status()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await JiraTestHost.StartAsync(ct);
        var issue = host.Server.AddIssue("PROJ", "Move me");

        var result = await host.Plugin.TransitionAsync(issue.Key, TrackerStatuses.InProgress, ct);

        Assert.Equal(new TrackerTransition("PROJ-1", "To Do", "In Progress", true), result);
        Assert.Equal(["To Do", "In Progress"], host.Server.Issue("PROJ-1")!.StatusHistory);
        Assert.Equal(
            ["GET /rest/api/3/issue/PROJ-1", "GET /rest/api/3/issue/PROJ-1/transitions", "POST /rest/api/3/issue/PROJ-1/transitions"],
            host.Server.Requests.Select(r => $"{r.Method} {r.Path}"));
        var post = host.Server.Requests[2];
        Assert.Equal("11", (string?)post.Json!["transition"]!["id"]);
        Assert.Equal(204, post.StatusCode);
        Assert.All(host.Server.Requests, r => Assert.Equal(host.Server.ExpectedAuthorization, r.Headers["Authorization"]));
    }

    [Fact]
    public async Task Transition_to_the_current_status_changes_nothing_and_posts_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await JiraTestHost.StartAsync(ct);
        var issue = host.Server.AddIssue("PROJ", "Already there", status: "In Review");

        var byLogical = await host.Plugin.TransitionAsync(issue.Key, TrackerStatuses.InReview, ct);
        var byName = await host.Plugin.TransitionAsync(issue.Key, "in review", ct);

        Assert.Equal(new TrackerTransition("PROJ-1", "In Review", "In Review", false), byLogical);
        Assert.False(byName.Changed);
        Assert.Empty(host.Server.RequestsTo("POST", "/rest/api/3/issue/PROJ-1/transitions"));
        Assert.Empty(host.Server.RequestsTo("GET", "/rest/api/3/issue/PROJ-1/transitions"));
        Assert.Equal(["In Review"], host.Server.Issue("PROJ-1")!.StatusHistory);
    }

    [Fact]
    public async Task Transition_without_a_path_to_the_target_lists_the_reachable_statuses()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await JiraTestHost.StartAsync(ct);
        var issue = host.Server.AddIssue("PROJ", "Cannot jump");

        var error = await Assert.ThrowsAsync<PluginException>(() => host.Plugin.TransitionAsync(issue.Key, TrackerStatuses.Done, ct));

        Assert.Contains("from 'To Do' to 'Done'", error.Message, StringComparison.Ordinal);
        Assert.Contains("available target statuses: 'In Progress'", error.Message, StringComparison.Ordinal);
        Assert.Empty(host.Server.RequestsTo("POST", "/rest/api/3/issue/PROJ-1/transitions"));
        Assert.Equal("To Do", host.Server.Issue("PROJ-1")!.Status);
    }

    [Fact]
    public async Task Transition_follows_the_status_mapping_and_accepts_a_literal_status_or_transition_name()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await JiraTestHost.StartAsync(ct, settings: new Dictionary<string, string?> { ["JIRA_STATUS_IN_REVIEW"] = "Code Review" });
        host.Server.SetWorkflow(
            new FakeJiraTransition("7", "Send to code review", null, "Code Review"),
            new FakeJiraTransition("8", "Ship it", "Code Review", "Released"));
        var issue = host.Server.AddIssue("PROJ", "Mapped");

        var review = await host.Plugin.TransitionAsync(issue.Key, TrackerStatuses.InReview, ct);
        var shipped = await host.Plugin.TransitionAsync(issue.Key, "Ship it", ct);

        Assert.Equal(new TrackerTransition("PROJ-1", "To Do", "Code Review", true), review);
        Assert.Equal(new TrackerTransition("PROJ-1", "Code Review", "Released", true), shipped);
        Assert.Equal(["7", "8"], host.Server.RequestsTo("POST", "/rest/api/3/issue/PROJ-1/transitions").Select(r => (string?)r.Json!["transition"]!["id"]));
        Assert.Equal(["To Do", "Code Review", "Released"], host.Server.Issue("PROJ-1")!.StatusHistory);
    }

    [Fact]
    public async Task An_unconfigured_plugin_refuses_calls_without_sending_anything()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await JiraTestHost.StartAsync(ct, settings: new Dictionary<string, string?> { ["JIRA_API_TOKEN"] = "" });

        var error = await Assert.ThrowsAsync<PluginException>(() => host.Plugin.GetIssueAsync("PROJ-1", ct));
        var health = await host.Plugin.CheckHealthAsync(ct);

        Assert.False(host.Plugin.IsConfigured);
        Assert.Contains("not configured", error.Message, StringComparison.Ordinal);
        Assert.False(health.Healthy);
        Assert.Empty(host.Server.Requests);
        Assert.Same(host.Plugin, host.Services.GetServices<ITaskManagementPlugin>().Single());
    }
}
