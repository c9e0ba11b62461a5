using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using DevOrchestrator.Data;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.IntegrationTests.Agents;
using DevOrchestrator.IntegrationTests.Infrastructure;
using DevOrchestrator.Hosting;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.IntegrationTests.Integrations;

/// <summary>
/// A real DevOrchestrator host with every vendor replaced by its fake on loopback: the model (fake Anthropic), GitHub
/// (REST + git smart HTTP over real bare repositories), Jira, Slack and Confluence — and one project mapped to all of
/// them (repository acme/app, Jira project APP, Slack channel #app-dev (C0APPDEV01), Confluence space ENG under a parent page).
/// </summary>
internal sealed class IntegrationsHarness : IAsyncDisposable
{
    public const string GitHubToken = "fake-github-token-4f1d9a";
    public const string GitHubWebhookSecret = "fake-github-webhook-secret";
    public const string JiraWebhookSecret = "fake-jira-webhook-secret";
    public const string SlackSigningSecret = "fake-slack-signing-secret";
    public const string SlackBotToken = "xoxb-fake-slack-bot-token-77aa";
    /// <summary>The Slack channel's conversation ID (what Slack's read methods want).</summary>
    public const string Channel = "C0APPDEV01";

    /// <summary>How the project names its channel, as a team would write it: the plugin resolves it to <see cref="Channel"/>.</summary>
    public const string ChannelName = "#app-dev";

    private readonly Dictionary<string, string?> _extra = new(StringComparer.Ordinal);

    private IntegrationsHarness(string root) => Root = root;

    public string Root { get; }
    public ServiceUnderTest Service { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;
    public FakeAnthropicServer Model { get; private set; } = null!;
    public FakeGitHubServer GitHub { get; private set; } = null!;
    public FakeJiraServer Jira { get; private set; } = null!;
    public FakeSlackServer Slack { get; private set; } = null!;
    public FakeConfluenceServer Confluence { get; private set; } = null!;
    public string RepositoryUrl { get; private set; } = "";
    public string BareRepository => Path.Combine(Root, "git", "acme", "app.git");
    public string ParentPageId { get; private set; } = "";
    public long ProjectId { get; private set; }

    /// <summary>Every secret the vendors were given (none may be found on disk, in events or in logs).</summary>
    public IReadOnlyList<string> Secrets => [GitHubToken, SlackBotToken, Jira.ApiToken, Confluence.ApiToken, AgentHarness.AnthropicKey];

    /// <param name="settings">Settings over the harness's own (null removes one: that vendor is then not configured).</param>
    /// <param name="role">The in-process service's role (<see cref="ServiceRole.Api"/> when workers run as separate processes).</param>
    public static async Task<IntegrationsHarness> StartAsync(Db db, CancellationToken cancellationToken, IDictionary<string, string?>? settings = null, ServiceRole role = ServiceRole.All)
    {
        var harness = new IntegrationsHarness(Directory.CreateTempSubdirectory("devorch-integrations-").FullName);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            harness._extra[key] = value;
        }

        harness.Model = await FakeAnthropicServer.StartAsync(new FakeModelServerOptions { ApiKey = AgentHarness.AnthropicKey }, cancellationToken);
        harness.GitHub = await FakeGitHubServer.StartAsync(Path.Combine(harness.Root, "git"), GitHubToken, cancellationToken);
        harness.RepositoryUrl = await harness.GitHub.CreateRepositoryAsync("acme", "app", cancellationToken: cancellationToken);
        harness.Jira = new FakeJiraServer();
        await harness.Jira.StartAsync(cancellationToken);
        harness.Jira.AddProject("APP");
        harness.Slack = await FakeSlackServer.StartAsync(SlackBotToken, cancellationToken);
        harness.Slack.AddChannel(Channel, ChannelName.TrimStart('#'));
        harness.Confluence = await FakeConfluenceServer.StartAsync(cancellationToken: cancellationToken);
        harness.Confluence.AddSpace("ENG");
        harness.ParentPageId = harness.Confluence.AddPage("ENG", "Automated changes", "<p>Pages written by DevOrchestrator.</p>").Id;

        harness.Service = await ServiceUnderTest.StartAsync(db, role, settings: harness.Settings(), cancellationToken: cancellationToken);
        harness.Client = await harness.Service.ClientForNewUserAsync("admin", cancellationToken);
        var created = await harness.Client.PostAsJsonAsync("/api/v1/projects", new
        {
            name = "app",
            repository_url = harness.RepositoryUrl,
            default_branch = "main",
            jira_project_key = "APP",
            slack_channel = ChannelName,
            confluence_space_key = "ENG",
            confluence_parent_id = harness.ParentPageId,
        }, cancellationToken);
        var body = await created.ReadJsonAsync();
        Assert.True(created.IsSuccessStatusCode, body.ToJsonString());
        harness.ProjectId = body["data"]!["id"]!.GetValue<long>();
        return harness;
    }

    public Dictionary<string, string?> Settings()
    {
        var values = AgentHarness.ProviderSettings(Model, "anthropic");
        values["GITHUB_TOKEN"] = GitHubToken;
        values["GITHUB_API_URL"] = GitHub.ApiUrl.ToString();
        values["GITHUB_WEBHOOK_SECRET"] = GitHubWebhookSecret;
        values["JIRA_URL"] = Jira.BaseUrl.ToString().TrimEnd('/');
        values["JIRA_EMAIL"] = Jira.Email;
        values["JIRA_API_TOKEN"] = Jira.ApiToken;
        values["JIRA_WEBHOOK_SECRET"] = JiraWebhookSecret;
        values["JIRA_POLL_INTERVAL_SECONDS"] = "0";
        values["SLACK_BOT_TOKEN"] = SlackBotToken;
        values["SLACK_API_URL"] = Slack.ApiUrl.ToString();
        values["SLACK_SIGNING_SECRET"] = SlackSigningSecret;
        values["CONFLUENCE_URL"] = Confluence.SiteUrl;
        values["CONFLUENCE_EMAIL"] = Confluence.Email;
        values["CONFLUENCE_API_TOKEN"] = Confluence.ApiToken;
        values["PLUGIN_RETRY_DELAY_SECONDS"] = "0.05";
        values["RATE_LIMIT_REQUESTS_PER_SECOND"] = "200";
        values["SANDBOX_TIMEOUT_SECONDS"] = "60";
        foreach (var (key, value) in _extra)
        {
            values[key] = value;
        }

        return values;
    }

    /// <summary>A Jira Cloud <c>jira:issue_created</c> webhook body for an issue of the fake Jira.</summary>
    public static byte[] JiraIssueEvent(string key, string projectKey, string summary, string description, params string[] labels) =>
        Encoding.UTF8.GetBytes(new JsonObject
        {
            ["timestamp"] = 1764400000000,
            ["webhookEvent"] = "jira:issue_created",
            ["issue_event_type_name"] = "issue_created",
            ["user"] = new JsonObject { ["accountId"] = "5b10a2844c20165700ede21g", ["displayName"] = "Ada Lovelace" },
            ["issue"] = new JsonObject
            {
                ["id"] = "10001",
                ["key"] = key,
                ["self"] = $"https://example.atlassian.net/rest/api/3/issue/10001",
                ["fields"] = new JsonObject
                {
                    ["summary"] = summary,
                    ["description"] = new JsonObject
                    {
                        ["type"] = "doc",
                        ["version"] = 1,
                        ["content"] = new JsonArray(new JsonObject
                        {
                            ["type"] = "paragraph",
                            ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = description }),
                        }),
                    },
                    ["labels"] = new JsonArray(labels.Select(l => (JsonNode)JsonValue.Create(l)!).ToArray()),
                    ["project"] = new JsonObject { ["key"] = projectKey, ["name"] = projectKey },
                    ["status"] = new JsonObject { ["name"] = "To Do" },
                    ["issuetype"] = new JsonObject { ["name"] = "Task" },
                },
            },
        }.ToJsonString());

    /// <summary>Posts a Jira webhook signed like Jira Cloud does (X-Hub-Signature: sha256=HMAC of the raw body).</summary>
    public async Task<HttpResponseMessage> PostJiraWebhookAsync(byte[] body, string deliveryId, string? secret = JiraWebhookSecret)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/jira") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Add("X-Atlassian-Webhook-Identifier", deliveryId);
        if (secret is not null)
        {
            request.Headers.Add("X-Hub-Signature", "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body)));
        }

        using var anonymous = new HttpClient { BaseAddress = Service.Address };
        return await anonymous.SendAsync(request);
    }

    public async Task<int> TaskCountAsync() => await Service.WithDbAsync(db => db.Tasks.CountAsync());

    /// <summary>Waits until the task has finished and returns its row.</summary>
    public async Task<DevTask> WaitFinishedAsync(long taskId, TimeSpan? timeout = null)
    {
        var finished = await HttpJson.EventuallyAsync(
            async () => await Service.WithDbAsync(db => db.Tasks.AsNoTracking().SingleAsync(t => t.Id == taskId)),
            t => TaskStatuses.IsFinished(t.Status),
            timeout ?? TimeSpan.FromSeconds(120));
        Assert.True(TaskStatuses.IsFinished(finished.Status), $"task {taskId} is still {finished.Status}");
        return finished;
    }

    /// <summary>Stops the service (the worker hands its task back) and starts a new one on the same database and directories.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken)
    {
        var previous = Service;
        previous.KeepStateOnDispose = true;
        Client.Dispose();
        await previous.DisposeAsync();
        Service = await ServiceUnderTest.StartAsync(previous.State.Db, settings: Settings(), shareWith: previous, ownState: true, cancellationToken: cancellationToken);
        Client = await Service.ClientForNewUserAsync("admin", cancellationToken);
    }

    /// <summary>
    /// Starts <c>devorch serve --role ROLE</c> as a separate process on the service's database and directories, with
    /// every vendor setting in its environment (and <paramref name="environment"/> over them); returns once it answers
    /// <c>/health/ready</c>. Several may run at once: a fleet of API and worker replicas on one database (and Redis,
    /// when <c>REDIS_URL</c> is among the settings).
    /// </summary>
    public async Task<ServiceProcess> StartProcessAsync(ServiceRole role, CancellationToken cancellationToken, IDictionary<string, string?>? environment = null)
    {
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }

        var state = Service.State;
        var values = new Dictionary<string, string?>(Settings())
        {
            ["ENVIRONMENT"] = "test",
            ["LOG_LEVEL"] = "warning",
            ["DATA_DIR"] = state.DataDir,
            ["WORKSPACES_DIR"] = state.WorkspacesDir,
            ["WORKFLOWS_DIR"] = state.WorkflowsDir,
            ["DATABASE_URL"] = state.DatabaseUrl,
            ["JWT_SECRET_KEY"] = state.JwtSecret,
            ["SWEEPER_INTERVAL_SECONDS"] = "1",
            ["TASK_LEASE_SECONDS"] = "5",
            ["MAX_WORKERS"] = "4",
        };
        foreach (var (key, value) in ServiceUnderTest.GenerousApiLimits)
        {
            values[key] = value;
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        var roleName = role.ToString().ToLowerInvariant();
        var start = DevorchProcess.StartInfo(["serve", "--role", roleName, "--urls", $"http://127.0.0.1:{port}"], values, Root);
        var started = new ServiceProcess(Process.Start(start)!, new Uri($"http://127.0.0.1:{port}"));
        using var client = new HttpClient { BaseAddress = started.Address };
        await HttpJson.EventuallyAsync(async () =>
        {
            try
            {
                return (await client.GetAsync("/health/ready", cancellationToken)).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, ready => ready || started.Process.HasExited, TimeSpan.FromSeconds(60));
        Assert.False(started.Process.HasExited, $"the {roleName} process exited with {(started.Process.HasExited ? started.Process.ExitCode : 0)}: {started.Output}");
        return started;
    }

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        if (Service is not null)
        {
            await Service.DisposeAsync();
        }

        await Model.DisposeAsync();
        await GitHub.DisposeAsync();
        await Jira.DisposeAsync();
        await Slack.DisposeAsync();
        await Confluence.DisposeAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
