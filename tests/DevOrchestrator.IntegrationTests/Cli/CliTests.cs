using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.IntegrationTests.Cli;

/// <summary>Runs the real <c>devorch</c> executable as a separate process, as a user would.</summary>
public sealed class CliTests
{
    private sealed record CliResult(int ExitCode, string Stdout, string Stderr);

    private static Task<CliResult> DevorchAsync(IDictionary<string, string> environment, CancellationToken ct, params string[] args) =>
        WaitAsync(DevorchProcess.StartInfo(args, environment.Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)), Path.GetTempPath()), TimeSpan.FromMinutes(2), ct);

    /// <summary>Runs a process to its end; one that has not ended after <paramref name="limit"/> (a hang, not slowness) fails the test.</summary>
    private static async Task<CliResult> WaitAsync(ProcessStartInfo start, TimeSpan limit, CancellationToken ct)
    {
        var args = string.Join(' ', start.ArgumentList.Skip(1));
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"devorch {args} did not exit within {limit}");
        }

        return new CliResult(process.ExitCode, (await stdout).Trim(), (await stderr).Trim());
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task User_and_token_created_by_the_cli_work_against_the_api(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        var env = new Dictionary<string, string>
        {
            ["DATA_DIR"] = service.State.DataDir,
            ["DATABASE_URL"] = service.State.DatabaseUrl ?? Path.Combine(service.State.DataDir, "devorch.db"),
            ["JWT_SECRET_KEY"] = service.State.JwtSecret,
        };

        var created = await DevorchAsync(env, ct, "user", "create", "--email", "cli@example.com", "--role", "operator");
        Assert.Equal(0, created.ExitCode);
        Assert.Contains("Created user", created.Stdout, StringComparison.Ordinal);
        var password = created.Stdout.Split('\n').Single(l => l.StartsWith("Password: ", StringComparison.Ordinal))["Password: ".Length..].Trim();

        var again = await DevorchAsync(env, ct, "user", "create", "--email", "cli@example.com", "--role", "operator");
        Assert.NotEqual(0, again.ExitCode);
        Assert.Contains("already exists", again.Stderr, StringComparison.Ordinal);

        var token = await DevorchAsync(env, ct, "token", "create", "--email", "cli@example.com", "--expires", "2h");
        Assert.Equal(0, token.ExitCode);
        using var client = new HttpClient { BaseAddress = service.Address };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.Stdout);
        var createdTask = await client.PostJsonAsync("/api/v1/tasks", new { title = "from the cli user: C++ <tags> & 'quotes'" });
        Assert.Equal(HttpStatusCode.Created, createdTask.StatusCode);
        var taskId = (long)(await createdTask.ReadJsonAsync())["data"]!["id"]!;

        var login = await service.Client.PostJsonAsync("/api/v1/auth/login", new { email = "cli@example.com", password });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);

        // The HTTP client commands against the running server.
        var list = await DevorchAsync(new Dictionary<string, string>(env) { ["DEVORCH_TOKEN"] = token.Stdout }, ct, "tasks", "list", "--server", service.Address.ToString());
        Assert.Equal(0, list.ExitCode);
        Assert.Contains("from the cli user", list.Stdout, StringComparison.Ordinal);

        // tasks show: indented JSON a person can read ('+', '<', '&', the apostrophe as themselves, not \u002B).
        var show = await DevorchAsync(new Dictionary<string, string>(env) { ["DEVORCH_TOKEN"] = token.Stdout }, ct, "tasks", "show", $"{taskId}", "--server", service.Address.ToString());
        Assert.True(show.ExitCode == 0, show.Stderr);
        Assert.Contains("  \"title\": \"from the cli user: C++ <tags> & 'quotes'\"", show.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u00", show.Stdout, StringComparison.Ordinal);

        var missing = await DevorchAsync(new Dictionary<string, string>(env) { ["DEVORCH_TOKEN"] = token.Stdout }, ct, "tasks", "show", "999999", "--server", service.Address.ToString());
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("HTTP 404", missing.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task The_tasks_commands_show_and_cancel_only_what_the_token_owner_may_see(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        using var other = await service.ClientForNewUserAsync(Roles.Operator, ct);
        var project = (long)(await (await other.PostJsonAsync("/api/v1/projects", new { name = "not yours" })).ReadJsonAsync())["data"]!["id"]!;
        var hidden = (long)(await (await other.PostJsonAsync("/api/v1/tasks", new { title = "hidden from the cli user", project_id = project })).ReadJsonAsync())["data"]!["id"]!;
        string token;
        await using (var scope = service.Services.CreateAsyncScope())
        {
            var user = await scope.ServiceProvider.GetRequiredService<UserAccounts>().CreateAsync("cli-member@example.com", Roles.Operator, "long-enough-pw", ct);
            token = scope.ServiceProvider.GetRequiredService<TokenIssuer>().Issue(user!, TimeSpan.FromHours(1)).Token;
        }

        var env = new Dictionary<string, string> { ["DEVORCH_TOKEN"] = token, ["DEVORCH_SERVER"] = service.Address.ToString() };
        var list = await DevorchAsync(env, ct, "tasks", "list");
        Assert.True(list.ExitCode == 0, list.Stderr);
        Assert.DoesNotContain("hidden from the cli user", list.Stdout, StringComparison.Ordinal);
        var show = await DevorchAsync(env, ct, "tasks", "show", $"{hidden}");
        Assert.Equal(1, show.ExitCode);
        Assert.Contains("HTTP 404", show.Stderr, StringComparison.Ordinal);
        var cancel = await DevorchAsync(env, ct, "tasks", "cancel", $"{hidden}");
        Assert.Equal(1, cancel.ExitCode);
        Assert.Contains("HTTP 404", cancel.Stderr, StringComparison.Ordinal);
        Assert.Equal("pending", (string?)(await (await other.GetAsync($"/api/v1/tasks/{hidden}", ct)).ReadJsonAsync())["data"]!["status"]);

        // Made a member, the same token lists it at once.
        var userId = await service.WithDbAsync(d => d.Users.Where(u => u.Email == "cli-member@example.com").Select(u => u.Id).SingleAsync(ct));
        Assert.Equal(HttpStatusCode.Created, (await other.PostJsonAsync($"/api/v1/projects/{project}/members", new { user_id = userId, role = "viewer" })).StatusCode);
        var listed = await DevorchAsync(env, ct, "tasks", "list");
        Assert.Contains("hidden from the cli user", listed.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task User_list_disable_enable_and_set_role_act_on_the_users_the_api_serves(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        var env = new Dictionary<string, string>
        {
            ["DATA_DIR"] = service.State.DataDir,
            ["DATABASE_URL"] = service.State.DatabaseUrl ?? Path.Combine(service.State.DataDir, "devorch.db"),
            ["JWT_SECRET_KEY"] = service.State.JwtSecret,
        };
        Assert.Equal(0, (await DevorchAsync(env, ct, "user", "create", "--email", "boss@example.com", "--role", "admin")).ExitCode);
        Assert.Equal(0, (await DevorchAsync(env, ct, "user", "create", "--email", "dev@example.com", "--role", "viewer", "--password", "long-enough-1")).ExitCode);

        var list = await DevorchAsync(env, ct, "user", "list");
        Assert.True(list.ExitCode == 0, list.Stderr);
        Assert.Contains("boss@example.com", list.Stdout, StringComparison.Ordinal);
        var row = list.Stdout.Split('\n').Single(l => l.Contains("dev@example.com", StringComparison.Ordinal));
        Assert.Contains("viewer", row, StringComparison.Ordinal);
        Assert.Contains("yes", row, StringComparison.Ordinal);

        var promoted = await DevorchAsync(env, ct, "user", "set-role", "--email", "dev@example.com", "--role", "operator");
        Assert.True(promoted.ExitCode == 0, promoted.Stderr);
        Assert.Contains("operator, active", promoted.Stdout, StringComparison.Ordinal);

        var token = (await DevorchAsync(env, ct, "token", "create", "--email", "dev@example.com")).Stdout;
        using var client = new HttpClient { BaseAddress = service.Address };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.Created, (await client.PostJsonAsync("/api/v1/tasks", new { title = "as operator" })).StatusCode);

        var disabled = await DevorchAsync(env, ct, "user", "disable", "--email", "dev@example.com");
        Assert.True(disabled.ExitCode == 0, disabled.Stderr);
        Assert.Contains("disabled", disabled.Stdout, StringComparison.Ordinal);
        // The server learns of a change made elsewhere within UserStatusCache.Lifetime.
        var refused = await HttpJson.EventuallyAsync(() => client.GetAsync("/api/v1/tasks", ct), r => r.StatusCode == HttpStatusCode.Unauthorized);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        var noToken = await DevorchAsync(env, ct, "token", "create", "--email", "dev@example.com");
        Assert.Equal(1, noToken.ExitCode);
        Assert.Contains("is disabled", noToken.Stderr, StringComparison.Ordinal);

        Assert.Equal(0, (await DevorchAsync(env, ct, "user", "enable", "--email", "dev@example.com")).ExitCode);
        Assert.Equal(HttpStatusCode.OK, (await HttpJson.EventuallyAsync(() => client.GetAsync("/api/v1/tasks", ct), r => r.StatusCode == HttpStatusCode.OK)).StatusCode);

        // Revoking: the token issued before stops working on the running server; a token created afterwards works.
        var revoked = await DevorchAsync(env, ct, "user", "revoke-tokens", "--email", "dev@example.com");
        Assert.True(revoked.ExitCode == 0, revoked.Stderr);
        Assert.Contains("every token issued so far is revoked", revoked.Stdout, StringComparison.Ordinal);
        var refusedAfterRevoke = await HttpJson.EventuallyAsync(() => client.GetAsync("/api/v1/tasks", ct), r => r.StatusCode == HttpStatusCode.Unauthorized);
        Assert.Contains("revoked", (string?)(await refusedAfterRevoke.ReadJsonAsync())["error"]!["message"], StringComparison.Ordinal);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await DevorchAsync(env, ct, "token", "create", "--email", "dev@example.com")).Stdout);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/tasks", ct)).StatusCode);
        Assert.Equal(1, (await DevorchAsync(env, ct, "user", "revoke-tokens", "--email", "nobody@example.com")).ExitCode);

        var lastAdmin = await DevorchAsync(env, ct, "user", "disable", "--email", "boss@example.com");
        Assert.Equal(1, lastAdmin.ExitCode);
        Assert.Contains("last active admin", lastAdmin.Stderr, StringComparison.Ordinal);
        var unknown = await DevorchAsync(env, ct, "user", "enable", "--email", "nobody@example.com");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("No user with email nobody@example.com", unknown.Stderr, StringComparison.Ordinal);
        var badRole = await DevorchAsync(env, ct, "user", "set-role", "--email", "dev@example.com", "--role", "owner");
        Assert.Equal(2, badRole.ExitCode);
        Assert.Contains("Argument 'owner' not recognized", badRole.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plugins_list_and_check_report_each_plugin_of_a_running_server()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var h = await Integrations.IntegrationsHarness.StartAsync(Db.Sqlite, ct,
            new Dictionary<string, string?> { ["CONFLUENCE_URL"] = null, ["CIRCUIT_BREAKER_THRESHOLD"] = "50", ["PLUGIN_RETRY_ATTEMPTS"] = "0" });
        var env = new Dictionary<string, string>
        {
            ["DATA_DIR"] = h.Service.State.DataDir,
            ["DATABASE_URL"] = Path.Combine(h.Service.State.DataDir, "devorch.db"),
            ["JWT_SECRET_KEY"] = h.Service.State.JwtSecret,
        };
        Assert.Equal(0, (await DevorchAsync(env, ct, "user", "create", "--email", "plugins@example.com", "--role", "operator")).ExitCode);
        var token = await DevorchAsync(env, ct, "token", "create", "--email", "plugins@example.com");
        env["DEVORCH_TOKEN"] = token.Stdout.Trim();
        var server = h.Service.Address.ToString();

        var list = await DevorchAsync(env, ct, "plugins", "list", "--server", server);
        Assert.True(list.ExitCode == 0, list.Stderr);
        var lines = list.Stdout.Split('\n');
        Assert.Contains(lines, l => l.Contains("github", StringComparison.Ordinal) && l.Contains("configured", StringComparison.Ordinal) && l.Contains("GITHUB_TOKEN=set (environment)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("confluence", StringComparison.Ordinal) && l.Contains("not_configured", StringComparison.Ordinal));
        // A default shows as a default with its value (it was "unset"); a missing required setting says so; one row per plugin.
        Assert.Contains(lines, l => l.Contains("jira", StringComparison.Ordinal) && l.Contains("JIRA_STATUS_TODO=To Do (default)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("confluence", StringComparison.Ordinal) && l.Contains("CONFLUENCE_URL=unset (required)", StringComparison.Ordinal) && l.Contains("CONFLUENCE_EMAIL=set (environment)", StringComparison.Ordinal));
        Assert.DoesNotContain(Integrations.IntegrationsHarness.GitHubToken, list.Stdout, StringComparison.Ordinal);

        var github = await DevorchAsync(env, ct, "plugins", "check", "github", "--server", server);
        Assert.True(github.ExitCode == 0, github.Stdout + github.Stderr);
        Assert.Contains($"connected as {h.GitHub.Login}", github.Stdout, StringComparison.Ordinal);

        // Jira answers 500: check reports the failure and exits 1; the unconfigured plugin is not a failure.
        h.Jira.Fail(500, count: 20);
        var all = await DevorchAsync(env, ct, "plugins", "check", "--server", server);
        Assert.Equal(1, all.ExitCode);
        Assert.Contains(all.Stdout.Split('\n'), l => l.Contains("jira", StringComparison.Ordinal) && l.Contains("failed", StringComparison.Ordinal));
        // Only the missing required setting is named, not every required one.
        Assert.Contains(all.Stdout.Split('\n'), l => l.Contains("confluence", StringComparison.Ordinal) && l.Contains("not configured", StringComparison.Ordinal)
            && l.Contains("missing CONFLUENCE_URL", StringComparison.Ordinal) && !l.Contains("CONFLUENCE_EMAIL", StringComparison.Ordinal));

        var unknown = await DevorchAsync(env, ct, "plugins", "check", "gitlab", "--server", server);
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("gitlab", unknown.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Costs_prints_the_budget_and_the_breakdown_of_a_running_server(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, settings: new Dictionary<string, string?> { ["MONTHLY_BUDGET_LIMIT"] = "100" }, cancellationToken: ct);
        var ledger = await Api.CostsApiTests.SeedAsync(service, spentMicros: 40_000_000, reservedMicros: 1_500_000, ct);
        string token;
        await using (var scope = service.Services.CreateAsyncScope())
        {
            var user = await scope.ServiceProvider.GetRequiredService<UserAccounts>().CreateAsync("costs@example.com", Roles.Admin, "long-enough-pw", ct);
            token = scope.ServiceProvider.GetRequiredService<TokenIssuer>().Issue(user!, TimeSpan.FromHours(1)).Token;
        }

        var env = new Dictionary<string, string> { ["DEVORCH_TOKEN"] = token, ["DEVORCH_SERVER"] = service.Address.ToString() };
        var byModel = await DevorchAsync(env, ct, "costs", "--from", "2025-03-01", "--to", "2025-03-31", "--group-by", "model");
        Assert.True(byModel.ExitCode == 0, byModel.Stderr);
        var lines = byModel.Stdout.Split('\n').Select(l => l.TrimEnd()).ToArray();
        Assert.Contains($"Month {ledger.Month}: $40.00 spent, $1.50 reserved by calls in flight, $58.50 remaining of the $100.00 budget", lines);
        Assert.Contains("Per-task limit $10.00; cost tracking on", lines);
        Assert.Contains("Total $1.633579 in 4 call(s) from 2025-03-01T00:00:00+00:00 to 2025-04-01T00:00:00+00:00", lines);
        // One table row per model, dearest first: key, label, calls, input, output, cache write, cache read, tokens, usd.
        string[] Cells(string key) => lines.Single(l => l.Contains($" {key} ", StringComparison.Ordinal))
            .Split('│', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(["claude-sonnet-4-5", "anthropic", "2", "3,000", "600", "50", "310", "3,960", "$1.623456"], Cells("claude-sonnet-4-5"));
        Assert.Equal(["gpt-5-mini", "openai", "1", "500", "100", "0", "0", "600", "$0.01"], Cells("gpt-5-mini"));
        Assert.True(Array.FindIndex(lines, l => l.Contains("claude-sonnet-4-5", StringComparison.Ordinal)) < Array.FindIndex(lines, l => l.Contains("gpt-5-mini", StringComparison.Ordinal)));

        var byProject = await DevorchAsync(env, ct, "costs", "--from", "2025-03-01", "--to", "2025-03-31", "--group-by", "project");
        Assert.True(byProject.ExitCode == 0, byProject.Stderr);
        Assert.Contains(byProject.Stdout.Split('\n'), l => l.Contains($" {ledger.Web} ", StringComparison.Ordinal) && l.Contains("web", StringComparison.Ordinal) && l.Contains("$0.133456", StringComparison.Ordinal));
        Assert.Contains(byProject.Stdout.Split('\n'), l => l.Contains("(none)", StringComparison.Ordinal) && l.Contains("$0.000123", StringComparison.Ordinal));

        // The default: this month by day (the one call made now).
        var current = await DevorchAsync(env, ct, "costs");
        Assert.True(current.ExitCode == 0, current.Stderr);
        Assert.Contains($" {DateTime.UtcNow:yyyy-MM-dd} ", current.Stdout, StringComparison.Ordinal);
        Assert.Contains("Total $2.50 in 1 call(s)", current.Stdout, StringComparison.Ordinal);

        var badGroup = await DevorchAsync(env, ct, "costs", "--group-by", "week");
        Assert.NotEqual(0, badGroup.ExitCode);
        Assert.Contains("week", badGroup.Stderr, StringComparison.Ordinal);

        var badDate = await DevorchAsync(env, ct, "costs", "--from", "2025-03-10", "--to", "yesterday");
        Assert.Equal(2, badDate.ExitCode);
        Assert.Contains("HTTP 400", badDate.Stderr, StringComparison.Ordinal);
        Assert.Contains("to: [", badDate.Stderr, StringComparison.Ordinal);
        Assert.Contains("must be an ISO 8601 date", badDate.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_flags_and_settings_fail_with_a_message_naming_them()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDir = Path.Combine(Path.GetTempPath(), "devorch-cli-" + Guid.NewGuid().ToString("N")[..8]);
        var env = new Dictionary<string, string> { ["DATA_DIR"] = dataDir };

        var missingEmail = await DevorchAsync(env, ct, "user", "create", "--role", "admin");
        Assert.Equal(2, missingEmail.ExitCode);
        Assert.Contains("--email", missingEmail.Stderr, StringComparison.Ordinal);

        var badRole = await DevorchAsync(env, ct, "user", "create", "--email", "a@example.com", "--role", "god");
        Assert.Equal(2, badRole.ExitCode);
        Assert.Contains("god", badRole.Stderr, StringComparison.Ordinal);

        // Unknown options and arguments are usage errors: exit 2, named on stderr, no help dumped on stdout.
        foreach (var args in new[] { new[] { "tasks", "list", "--bogus" }, ["serve", "--bogus"], ["db", "migrate", "extra"], ["nosuch"] })
        {
            var unknown = await DevorchAsync(env, ct, args);
            Assert.True(unknown.ExitCode == 2, $"{string.Join(' ', args)}: exit {unknown.ExitCode}");
            Assert.Contains(args[^1], unknown.Stderr, StringComparison.Ordinal);
            Assert.Contains("--help", unknown.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("Usage:", unknown.Stdout, StringComparison.Ordinal);
        }

        var badExpiry = await DevorchAsync(env, ct, "token", "create", "--email", "a@example.com", "--expires", "soon");
        Assert.Equal(2, badExpiry.ExitCode);
        Assert.Contains("--expires", badExpiry.Stderr, StringComparison.Ordinal);

        var badSetting = await DevorchAsync(new Dictionary<string, string>(env) { ["MAX_WORKERS"] = "lots" }, ct, "db", "migrate");
        Assert.Equal(2, badSetting.ExitCode);
        Assert.Contains("MAX_WORKERS must be a whole number", badSetting.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", badSetting.Stderr, StringComparison.Ordinal);

        var production = await DevorchAsync(new Dictionary<string, string>(env) { ["ENVIRONMENT"] = "production" }, ct, "serve", "--urls", "http://127.0.0.1:0");
        Assert.Equal(2, production.ExitCode);
        Assert.Contains("JWT_SECRET_KEY", production.Stderr, StringComparison.Ordinal);

        var badPlugins = await DevorchAsync(new Dictionary<string, string>(env) { ["GITHUB_API_URL"] = "github.example", ["JIRA_POLL_INTERVAL_SECONDS"] = "5", ["SLACK_BOT_TOKEN"] = "not-a-bot-token" },
            ct, "serve", "--urls", "http://127.0.0.1:0");
        Assert.Equal(2, badPlugins.ExitCode);
        Assert.Contains("GITHUB_API_URL must be", badPlugins.Stderr, StringComparison.Ordinal);
        Assert.Contains("JIRA_POLL_INTERVAL_SECONDS", badPlugins.Stderr, StringComparison.Ordinal);
        Assert.Contains("SLACK_BOT_TOKEN", badPlugins.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("not-a-bot-token", badPlugins.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", badPlugins.Stderr, StringComparison.Ordinal);

        var splitOnSqlite = await DevorchAsync(env, ct, "serve", "--role", "worker", "--urls", "http://127.0.0.1:0");
        Assert.Equal(2, splitOnSqlite.ExitCode);
        Assert.Contains("DATABASE_URL", splitOnSqlite.Stderr, StringComparison.Ordinal);

        var noToken = await DevorchAsync(env, ct, "tasks", "list");
        Assert.Equal(2, noToken.ExitCode);
        Assert.Contains("DEVORCH_TOKEN", noToken.Stderr, StringComparison.Ordinal);

        var migrate = await DevorchAsync(env, ct, "db", "migrate");
        Assert.Equal(0, migrate.ExitCode);
        Assert.True(File.Exists(Path.Combine(dataDir, "devorch.db")));
        Directory.Delete(dataDir, recursive: true);
    }

    [Fact]
    public async Task The_generated_jwt_secret_is_private_to_its_owner()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDir = Path.Combine(Path.GetTempPath(), "devorch-cli-" + Guid.NewGuid().ToString("N")[..8]);
        var env = new Dictionary<string, string> { ["DATA_DIR"] = dataDir };
        Assert.Equal(0, (await DevorchAsync(env, ct, "user", "create", "--email", "a@example.com", "--role", "admin", "--password", "long-enough-pw")).ExitCode);
        var first = await DevorchAsync(env, ct, "token", "create", "--email", "a@example.com");
        Assert.Equal(0, first.ExitCode);
        var path = Path.Combine(dataDir, "jwt_secret");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        var secret = await File.ReadAllTextAsync(path, ct);
        Assert.True(secret.Trim().Length >= 32);
        Assert.Equal(0, (await DevorchAsync(env, ct, "token", "create", "--email", "a@example.com")).ExitCode);
        Assert.Equal(secret, await File.ReadAllTextAsync(path, ct));
        Directory.Delete(dataDir, recursive: true);
    }

    [Fact]
    public async Task Processes_starting_together_on_a_fresh_data_dir_share_one_database_and_one_key()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDir = Path.Combine(Path.GetTempPath(), "devorch-cli-" + Guid.NewGuid().ToString("N")[..8]);
        var env = new Dictionary<string, string> { ["DATA_DIR"] = dataDir };

        // As in the quick start: the server starting (migrating) while users are created and tokens issued next to it.
        var results = await Task.WhenAll(
            DevorchAsync(env, ct, "user", "create", "--email", "one@example.com", "--role", "admin", "--password", "long-enough-1"),
            DevorchAsync(env, ct, "user", "create", "--email", "two@example.com", "--role", "viewer", "--password", "long-enough-2"),
            DevorchAsync(env, ct, "db", "migrate"));
        Assert.All(results, r => Assert.True(r.ExitCode == 0, r.Stderr));

        var tokens = await Task.WhenAll(
            DevorchAsync(env, ct, "token", "create", "--email", "one@example.com"),
            DevorchAsync(env, ct, "token", "create", "--email", "two@example.com"));
        Assert.All(tokens, r => Assert.True(r.ExitCode == 0, r.Stderr));
        Assert.Single(Directory.GetFiles(dataDir, "jwt_secret*"));
        Directory.Delete(dataDir, recursive: true);
    }

    [Fact]
    public async Task Run_of_a_task_whose_tests_need_the_network_fails_saying_so_and_prints_no_branch()
    {
        var ct = TestContext.Current.CancellationToken;
        var root = Directory.CreateTempSubdirectory("devorch-run-").FullName;
        try
        {
            // npm test installs a package that is in no cache: offline, npm gives up at once (ENOTCACHED).
            var repo = Path.Combine(root, "app");
            Directory.CreateDirectory(repo);
            await GitFixtures.GitAsync(repo, ct, "init", "--initial-branch=main");
            await File.WriteAllTextAsync(Path.Combine(repo, "package.json"), JsonSerializer.Serialize(new
            {
                name = "app",
                version = "1.0.0",
                scripts = new { test = "npm install --no-audit --no-fund && node -e 0" },
                dependencies = new Dictionary<string, string> { ["left-pad"] = "1.3.0" },
            }), ct);
            await GitFixtures.GitAsync(repo, ct, "add", "-A");
            await GitFixtures.GitAsync(repo, ct, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-m", "initial");

            const string key = "fake-anthropic-key-cli-434343";
            await using var model = await FakeAnthropicServer.StartAsync(new FakeModelServerOptions { ApiKey = key }, ct);
            model.Enqueue(
                FakeReply.ToolCall("write_file", JsonSerializer.Serialize(new { path = "hello.txt", content = "hello\n" })),
                FakeReply.ToolCall("finish", JsonSerializer.Serialize(new { summary = "added hello.txt" })));
            var home = Path.Combine(root, "home");
            Directory.CreateDirectory(home);
            var environment = new Dictionary<string, string>
            {
                ["HOME"] = home,
                ["ANTHROPIC_API_KEY"] = key,
                ["ANTHROPIC_BASE_URL"] = model.BaseUrl.ToString().TrimEnd('/'),
                ["ENVIRONMENT"] = "test",
            };

            var result = await DevorchAsync(environment, ct, "run", "--repo", repo, "Add a hello file");

            Assert.True(result.ExitCode == 1, $"exit {result.ExitCode}\n{result.Stdout}\n{result.Stderr}");
            var output = System.Text.RegularExpressions.Regex.Replace(result.Stdout, @"\s+", " "); // the console wraps long lines
            Assert.Contains("Status: failed", output, StringComparison.Ordinal);
            Assert.Contains("sandboxed commands run without network", output, StringComparison.Ordinal);
            Assert.Contains("setup_commands", output, StringComparison.Ordinal);
            Assert.DoesNotContain("Branch:", output, StringComparison.Ordinal);
            Assert.Contains("Not pushed: the work is on the local branch devorch/task-1-add-a-hello-file", output, StringComparison.Ordinal);
            Assert.Equal("refs/heads/main", await GitFixtures.GitAsync(repo, ct, "for-each-ref", "--format=%(refname)", "refs/heads/"));
            Assert.Equal(2, model.Requests.Count);
            Assert.True(Directory.Exists(Path.Combine(home, ".devorch", "package-caches")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Run_develops_a_task_on_a_local_repository_and_prints_the_branch_diff_stat_and_cost()
    {
        var ct = TestContext.Current.CancellationToken;
        var root = Directory.CreateTempSubdirectory("devorch-run-").FullName;
        try
        {
            var repo = Path.Combine(root, "app");
            Directory.CreateDirectory(repo);
            await GitFixtures.GitAsync(repo, ct, "init", "--initial-branch=main");
            await File.WriteAllTextAsync(Path.Combine(repo, "README.md"), "# app\n", ct);
            await GitFixtures.GitAsync(repo, ct, "add", "-A");
            await GitFixtures.GitAsync(repo, ct, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-m", "initial");

            const string key = "fake-anthropic-key-cli-424242";
            await using var model = await FakeAnthropicServer.StartAsync(new FakeModelServerOptions { ApiKey = key }, ct);
            model.Enqueue(
                FakeReply.ToolCall("write_file", JsonSerializer.Serialize(new { path = "hello.txt", content = "hello\n" })),
                FakeReply.ToolCall("finish", JsonSerializer.Serialize(new { summary = "added hello.txt" })),
                FakeReply.Text(JsonSerializer.Serialize(new { verdict = "approve", reasons = Array.Empty<string>(), summary = "fine" })));
            var home = Path.Combine(root, "home");
            Directory.CreateDirectory(home);
            var environment = new Dictionary<string, string>
            {
                ["HOME"] = home,
                ["ANTHROPIC_API_KEY"] = key,
                ["ANTHROPIC_BASE_URL"] = model.BaseUrl.ToString().TrimEnd('/'),
                ["ENVIRONMENT"] = "test",
                ["DEVORCH_GIT_AUTHOR_NAME"] = "Robo Dev",
                ["DEVORCH_GIT_AUTHOR_EMAIL"] = "robo@example.com",
            };

            // HOME is empty (no ~/.gitconfig, no git identity): the commit carries the configured identity.
            var result = await DevorchAsync(environment, ct, "run", "--repo", repo, "Add a hello file");

            Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}\n{result.Stdout}\n{result.Stderr}");
            Assert.Contains("turn 1: write_file(path=hello.txt)", result.Stdout, StringComparison.Ordinal);
            Assert.Contains("Status: completed", result.Stdout, StringComparison.Ordinal);
            Assert.Contains("Branch: devorch/task-1-add-a-hello-file", result.Stdout, StringComparison.Ordinal);
            Assert.Contains("hello.txt | 1 +", result.Stdout, StringComparison.Ordinal);
            Assert.Contains("Review: approve", result.Stdout, StringComparison.Ordinal);
            Assert.Matches(@"Cost: \$0\.\d{6} \(3 model call\(s\)\)", result.Stdout);
            Assert.Equal("hello", await GitFixtures.GitAsync(repo, ct, "show", "devorch/task-1-add-a-hello-file:hello.txt"));
            Assert.Equal("Robo Dev <robo@example.com> / Robo Dev <robo@example.com>",
                await GitFixtures.GitAsync(repo, ct, "log", "-1", "--format=%an <%ae> / %cn <%ce>", "devorch/task-1-add-a-hello-file"));
            Assert.Equal(3, model.Requests.Count);

            // The embedded defaults live under ~/.devorch, not in the repository; the key is in no file there.
            Assert.True(File.Exists(Path.Combine(home, ".devorch", "data", "devorch.db")));
            Assert.False(Directory.Exists(Path.Combine(repo, "data")));
            Assert.DoesNotContain(key, result.Stdout + result.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain(key, await File.ReadAllTextAsync(Path.Combine(home, ".devorch", "data", "devorch-run.log"), ct), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Run_refuses_a_path_that_is_not_a_repository_naming_the_flag()
    {
        var ct = TestContext.Current.CancellationToken;
        var result = await DevorchAsync(new Dictionary<string, string> { ["HOME"] = Path.GetTempPath() }, ct, "run", "--repo", "/nonexistent/repo", "anything");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--repo", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("is not a git repository", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dotnet_run_resolves_relative_paths_and_dotenv_in_the_directory_it_was_typed_in()
    {
        var ct = TestContext.Current.CancellationToken;
        var here = Directory.CreateTempSubdirectory("devorch-cwd-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(here, "x.yml"), "name: x\nsteps:\n  - name: prepare\n    type: plugin_action\n    plugin: workspace\n    action: prepare\n", ct);
            await File.WriteAllTextAsync(Path.Combine(here, ".env"), "DATA_DIR=./state            # a comment as in .env.example\n", ct);

            // As the README's quick start does it: dotnet run --project <the project> from another directory.
            var project = Path.Combine(RepositoryRoot(), "src", "DevOrchestrator");
            var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
            ProcessStartInfo DotnetRun(params string[] args)
            {
                var start = DevorchProcess.StartInfo([], [], here);
                start.ArgumentList.Clear();
                foreach (var arg in new[] { "run", "--no-build", "-c", configuration, "--project", project, "--" }.Concat(args))
                {
                    start.ArgumentList.Add(arg);
                }

                return start;
            }

            var validate = await WaitAsync(DotnetRun("workflows", "validate", "./x.yml"), TimeSpan.FromMinutes(2), ct);
            Assert.True(validate.ExitCode == 0, $"exit {validate.ExitCode}\n{validate.Stdout}\n{validate.Stderr}");
            Assert.Contains("./x.yml: valid (1 steps)", validate.Stdout, StringComparison.Ordinal);

            // .env of this directory is read (DATA_DIR=./state, relative to it), and what the service writes is git-ignored.
            var migrate = await WaitAsync(DotnetRun("db", "migrate"), TimeSpan.FromMinutes(2), ct);
            Assert.True(migrate.ExitCode == 0, $"exit {migrate.ExitCode}\n{migrate.Stdout}\n{migrate.Stderr}");
            Assert.True(File.Exists(Path.Combine(here, "state", "devorch.db")));
            Assert.Equal("*", (await File.ReadAllLinesAsync(Path.Combine(here, "state", ".gitignore"), ct)).Last());
            Assert.False(Directory.Exists(Path.Combine(project, "state")));
            Assert.False(Directory.Exists(Path.Combine(project, "data")));
        }
        finally
        {
            Directory.Delete(here, recursive: true);
        }
    }

    [Theory]
    [InlineData("serve")]
    [InlineData("db migrate")]
    [InlineData("user create")]
    public async Task An_unreachable_database_fails_at_once_with_one_line_naming_DATABASE_URL_and_the_host(string command)
    {
        var ct = TestContext.Current.CancellationToken;
        var port = ClosedPort();
        var env = new Dictionary<string, string>
        {
            ["DATABASE_URL"] = $"postgresql://devorch:s3cret-pw@127.0.0.1:{port}/devorch",
            ["DATA_DIR"] = Path.Combine(Path.GetTempPath(), "devorch-cli-" + Guid.NewGuid().ToString("N")[..8]),
        };
        string[] args = command switch
        {
            "serve" => ["serve", "--urls", "http://127.0.0.1:0"],
            "user create" => ["user", "create", "--email", "a@example.com", "--role", "admin"],
            _ => command.Split(' '),
        };

        // Before: the server started anyway and logged stack traces for as long as it ran. A generous bound, for a hang.
        var result = await WaitAsync(DevorchProcess.StartInfo(args, env.Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)), Path.GetTempPath()),
            TimeSpan.FromSeconds(30), ct);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"DATABASE_URL: cannot connect to 127.0.0.1:{port} (Connection refused)", result.Stderr);
        Assert.Equal("", result.Stdout);
        Assert.DoesNotContain("s3cret-pw", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_database_that_refuses_the_login_or_does_not_exist_is_named_in_one_line()
    {
        var ct = TestContext.Current.CancellationToken;
        var url = await TestDatabases.CreatePostgresDatabaseAsync(ct);
        var admin = new Uri(url);
        await TestDatabases.DropPostgresDatabaseAsync(url);
        var user = admin.UserInfo.Split(':')[0];
        var wrongPassword = await DevorchAsync(new Dictionary<string, string> { ["DATABASE_URL"] = $"postgresql://{user}:not-the-password@{admin.Host}:{admin.Port}/postgres" }, ct, "db", "migrate");
        Assert.Equal(1, wrongPassword.ExitCode);
        Assert.StartsWith($"DATABASE_URL: {admin.Host}:{admin.Port} refused user '{user}'", wrongPassword.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", wrongPassword.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", wrongPassword.Stderr, StringComparison.Ordinal);

        // The database just dropped.
        var noDatabase = await DevorchAsync(new Dictionary<string, string> { ["DATABASE_URL"] = url }, ct, "db", "migrate");
        Assert.Equal(1, noDatabase.ExitCode);
        Assert.Equal($"DATABASE_URL: database '{admin.AbsolutePath.Trim('/')}' does not exist on {admin.Host}:{admin.Port}", noDatabase.Stderr);
    }

    [Fact]
    public async Task Serve_starts_without_warnings_and_in_the_environment_ENVIRONMENT_names()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDir = Path.Combine(Path.GetTempPath(), "devorch-cli-" + Guid.NewGuid().ToString("N")[..8]);
        var start = DevorchProcess.StartInfo(["serve", "--urls", "http://127.0.0.1:0"], [new("DATA_DIR", dataDir)], Path.GetTempPath());
        using var process = Process.Start(start)!;
        var lines = new List<string>();
        try
        {
            // A fresh SQLite file: every migration runs, the data-protection key is made, the sweepers query once.
            while (await process.StandardOutput.ReadLineAsync(ct) is { } line)
            {
                lines.Add(line);
                if (line.Contains("Hosting environment", StringComparison.Ordinal))
                {
                    break;
                }
            }

            var log = string.Join('\n', lines);
            Assert.Contains("\"EnvName\":\"Development\"", log, StringComparison.Ordinal);
            Assert.DoesNotContain("\"@l\":\"Warning\"", log, StringComparison.Ordinal);
            Assert.DoesNotContain("\"@l\":\"Error\"", log, StringComparison.Ordinal);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(dataDir, "keys")));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
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
