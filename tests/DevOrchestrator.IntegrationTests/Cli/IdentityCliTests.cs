using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.IntegrationTests.Cli;

/// <summary><c>devorch user reset-password</c>, <c>devorch apikey …</c> and <c>devorch audit list</c> through the real executable.</summary>
public sealed class IdentityCliTests
{
    private sealed record CliResult(int ExitCode, string Stdout, string Stderr);

    private static async Task<CliResult> DevorchAsync(IDictionary<string, string> environment, string? stdin, CancellationToken ct, params string[] args)
    {
        var start = DevorchProcess.StartInfo(args, environment.Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)), Path.GetTempPath());
        start.RedirectStandardInput = true;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return new CliResult(process.ExitCode, (await stdout).Trim(), (await stderr).Trim());
    }

    private static Dictionary<string, string> EnvironmentOf(ServiceUnderTest service) => new()
    {
        ["DATA_DIR"] = service.State.DataDir,
        ["DATABASE_URL"] = service.State.DatabaseUrl ?? Path.Combine(service.State.DataDir, "devorch.db"),
        ["JWT_SECRET_KEY"] = service.State.JwtSecret,
    };

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Reset_password_reads_stdin_or_a_file_applies_the_rules_revokes_tokens_and_is_audited_as_cli(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        var env = EnvironmentOf(service);
        Assert.Equal(0, (await DevorchAsync(env, null, ct, "user", "create", "--email", "reset@example.com", "--role", "operator", "--password", "first-password")).ExitCode);
        var token = (await DevorchAsync(env, null, ct, "token", "create", "--email", "reset@example.com")).Stdout;
        using var client = new HttpClient { BaseAddress = service.Address };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/auth/me", ct)).StatusCode);

        // Never an argument: --password is not an option of reset-password.
        var asArgument = await DevorchAsync(env, null, ct, "user", "reset-password", "--email", "reset@example.com", "--password", "second-password");
        Assert.Equal(2, asArgument.ExitCode);
        var tooShort = await DevorchAsync(env, "short\n", ct, "user", "reset-password", "--email", "reset@example.com");
        Assert.Equal(2, tooShort.ExitCode);
        Assert.Contains("The new password (the password on stdin) must be at least 8 characters.", tooShort.Stderr, StringComparison.Ordinal);
        var missingFile = await DevorchAsync(env, null, ct, "user", "reset-password", "--email", "reset@example.com", "--password-file", "/nonexistent/pw");
        Assert.Equal(2, missingFile.ExitCode);
        Assert.Contains("--password-file: cannot read /nonexistent/pw", missingFile.Stderr, StringComparison.Ordinal);
        var unknown = await DevorchAsync(env, "long-enough-pw\n", ct, "user", "reset-password", "--email", "nobody@example.com");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("No user with email nobody@example.com", unknown.Stderr, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await service.Client.PostJsonAsync("/api/v1/auth/login", new { email = "reset@example.com", password = "first-password" })).StatusCode);

        var reset = await DevorchAsync(env, "second password\n", ct, "user", "reset-password", "--email", "reset@example.com");
        Assert.True(reset.ExitCode == 0, reset.Stderr);
        Assert.DoesNotContain("second password", reset.Stdout + reset.Stderr, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await service.Client.PostJsonAsync("/api/v1/auth/login", new { email = "reset@example.com", password = "second password" })).StatusCode);
        var refused = await HttpJson.EventuallyAsync(() => client.GetAsync("/api/v1/auth/me", ct), r => r.StatusCode == HttpStatusCode.Unauthorized);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        var file = Path.Combine(service.State.Root, "new-password");
        await File.WriteAllTextAsync(file, "third-password\n", ct);
        Assert.Equal(0, (await DevorchAsync(env, null, ct, "user", "reset-password", "--email", "reset@example.com", "--password-file", file)).ExitCode);
        Assert.Equal(HttpStatusCode.OK, (await service.Client.PostJsonAsync("/api/v1/auth/login", new { email = "reset@example.com", password = "third-password" })).StatusCode);

        var rows = await service.WithDbAsync(d => d.AuditLog.Where(a => a.Action == "user.password_reset").ToListAsync(ct));
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.Equal(("cli", (long?)null), (r.ActorEmail, r.ActorUserId)));
        Assert.All(rows, r => Assert.DoesNotContain("second password", r.Details, StringComparison.Ordinal));
        Assert.All(rows, r => Assert.DoesNotContain("third-password", r.Details, StringComparison.Ordinal));
    }

    /// <summary>The CLI client works with an API key and is refused (exit 1, the server's reason) with a revoked key, a revoked token and a disabled user.</summary>
    [Fact]
    public async Task Apikey_commands_and_the_cli_client_with_keys_and_tokens_that_stop_working()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(Db.Sqlite, cancellationToken: ct);
        var env = EnvironmentOf(service);
        var server = service.Address.ToString();
        Assert.Equal(0, (await DevorchAsync(env, null, ct, "user", "create", "--email", "boss@example.com", "--role", "admin", "--password", "long-enough-1")).ExitCode);
        var jwt = (await DevorchAsync(env, null, ct, "token", "create", "--email", "boss@example.com")).Stdout;
        var asJwt = new Dictionary<string, string>(env) { ["DEVORCH_TOKEN"] = jwt };

        var badExpiry = await DevorchAsync(asJwt, null, ct, "apikey", "create", "--name", "ci", "--expires", "soon", "--server", server);
        Assert.Equal(2, badExpiry.ExitCode);
        Assert.Contains("--expires must be a number of days", badExpiry.Stderr, StringComparison.Ordinal);
        var created = await DevorchAsync(asJwt, null, ct, "apikey", "create", "--name", "ci", "--expires", "30d", "--server", server);
        Assert.True(created.ExitCode == 0, created.Stderr);
        var key = created.Stdout;
        Assert.Matches("^dvo_[A-Za-z0-9_-]{43}$", key);
        Assert.Contains("it is not shown again", created.Stderr, StringComparison.Ordinal);

        var asKey = new Dictionary<string, string>(env) { ["DEVORCH_TOKEN"] = key };
        var list = await DevorchAsync(asKey, null, ct, "apikey", "list", "--server", server);
        Assert.True(list.ExitCode == 0, list.Stderr);
        Assert.Contains($"{key[..8]}…{key[^4..]}", list.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(key, list.Stdout, StringComparison.Ordinal);
        Assert.Contains("active", list.Stdout, StringComparison.Ordinal);
        Assert.Equal(0, (await DevorchAsync(asKey, null, ct, "tasks", "list", "--server", server)).ExitCode);

        var audit = await DevorchAsync(asKey, null, ct, "audit", "list", "--action", "api_key.created", "--server", server);
        Assert.True(audit.ExitCode == 0, audit.Stderr);
        Assert.Contains("boss@example.com", audit.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(key, audit.Stdout, StringComparison.Ordinal);

        var id = System.Text.RegularExpressions.Regex.Match(created.Stderr, @"API key (\d+) 'ci' created").Groups[1].Value;
        var revoked = await DevorchAsync(asJwt, null, ct, "apikey", "revoke", id, "--server", server);
        Assert.True(revoked.ExitCode == 0, revoked.Stderr);
        Assert.Contains("API key revoked.", revoked.Stdout, StringComparison.Ordinal);
        var refusedKey = await DevorchAsync(asKey, null, ct, "tasks", "list", "--server", server);
        Assert.Equal(1, refusedKey.ExitCode);
        Assert.Contains("HTTP 401: The API key was revoked.", refusedKey.Stderr, StringComparison.Ordinal);

        // A token revoked on the database, then a disabled user: the CLI client is refused by the running server.
        Assert.Equal(0, (await DevorchAsync(env, null, ct, "user", "create", "--email", "dev@example.com", "--role", "operator", "--password", "long-enough-2")).ExitCode);
        var devToken = new Dictionary<string, string>(env) { ["DEVORCH_TOKEN"] = (await DevorchAsync(env, null, ct, "token", "create", "--email", "dev@example.com")).Stdout };
        Assert.Equal(0, (await DevorchAsync(devToken, null, ct, "tasks", "list", "--server", server)).ExitCode);
        Assert.Equal(0, (await DevorchAsync(env, null, ct, "user", "revoke-tokens", "--email", "dev@example.com")).ExitCode);
        var refusedToken = await HttpJson.EventuallyAsync(() => DevorchAsync(devToken, null, ct, "tasks", "list", "--server", server), r => r.ExitCode != 0);
        Assert.Equal(1, refusedToken.ExitCode);
        Assert.Contains("HTTP 401", refusedToken.Stderr, StringComparison.Ordinal);
        Assert.Contains("revoked", refusedToken.Stderr, StringComparison.Ordinal);

        devToken["DEVORCH_TOKEN"] = (await DevorchAsync(env, null, ct, "token", "create", "--email", "dev@example.com")).Stdout;
        Assert.Equal(0, (await DevorchAsync(devToken, null, ct, "tasks", "list", "--server", server)).ExitCode);
        Assert.Equal(0, (await DevorchAsync(env, null, ct, "user", "disable", "--email", "dev@example.com")).ExitCode);
        var refusedDisabled = await HttpJson.EventuallyAsync(() => DevorchAsync(devToken, null, ct, "tasks", "list", "--server", server), r => r.ExitCode != 0);
        Assert.Equal(1, refusedDisabled.ExitCode);
        Assert.Contains("HTTP 401: The user is disabled", refusedDisabled.Stderr, StringComparison.Ordinal);
    }
}
