using System.CommandLine;
using System.Text;
using DevOrchestrator.Features.Auth;
using Spectre.Console;

namespace DevOrchestrator.Cli;

/// <summary>
/// <c>devorch user reset-password</c> (on the database), and the HTTP clients <c>devorch apikey create|list|revoke</c>
/// and <c>devorch audit list</c> of a running server (<c>--server</c>, <c>DEVORCH_TOKEN</c>).
/// </summary>
internal static class IdentityCommands
{
    /// <summary>
    /// <c>user reset-password --email E [--password-file PATH]</c>: the new password comes from the file or stdin, never
    /// from an argument (a command line shows in <c>ps</c> and shell history); the user's tokens are revoked.
    /// </summary>
    public static Command ResetPassword()
    {
        var email = new Option<string>("--email") { Description = "The user's email", Required = true };
        var file = new Option<string?>("--password-file")
        {
            Description = "A file holding the new password (its content without the final line break). Without it the password is read from stdin (typed without echo on a terminal)",
        };
        var command = new Command("reset-password", "Set a user's password (the rules of 'user create') and revoke their tokens.") { email, file };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var path = parseResult.GetValue(file);
            var (password, source) = path is null ? (await ReadStdinPasswordAsync(cancellationToken), "the password on stdin") : (await ReadFileAsync(path, cancellationToken), "--password-file");
            if (password is null)
            {
                await Console.Error.WriteLineAsync($"--password-file: cannot read {path}.");
                return ExitCodes.Usage;
            }

            if (UserAccounts.PasswordProblem(password) is { } problem)
            {
                await Console.Error.WriteLineAsync($"The new password ({source}) {problem}.");
                return ExitCodes.Usage;
            }

            await using var services = await DevOrchestratorCli.BuildMigratedServicesAsync(cancellationToken);
            await using var scope = services.CreateAsyncScope();
            var accounts = scope.ServiceProvider.GetRequiredService<UserAccounts>();
            var address = parseResult.GetValue(email)!.Trim().ToLowerInvariant();
            if (await accounts.FindAsync(address, cancellationToken) is not { } user)
            {
                await Console.Error.WriteLineAsync($"No user with email {address} (see 'devorch user list').");
                return ExitCodes.Failure;
            }

            await accounts.ResetPasswordAsync(user.Id, password, CancellationToken.None);
            Console.WriteLine($"User {user.Id} {user.Email}: password set; every token issued before is revoked.");
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command ApiKey()
    {
        var name = new Option<string>("--name") { Description = "What the key is for (e.g. ci-deploy)", Required = true };
        var expires = new Option<string?>("--expires") { Description = "Lifetime in days, e.g. 90d (default: does not expire)" };
        var create = new Command("create", "Create an API key for the signed-in user; prints the key once.") { name, expires };
        create.SetAction(async (parseResult, ct) =>
        {
            int? days = null;
            if (parseResult.GetValue(expires) is { } text)
            {
                if (!text.EndsWith('d') || !int.TryParse(text[..^1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var d) || d is < 1 or > ApiKeys.MaxLifetimeDays)
                {
                    await Console.Error.WriteLineAsync($"--expires must be a number of days followed by d, from 1d to {ApiKeys.MaxLifetimeDays}d (got '{text}').");
                    return ExitCodes.Usage;
                }

                days = d;
            }

            return await ServerCommands.CallAsync(parseResult, async client =>
            {
                using var response = await client.PostAsync("/api/v1/auth/api-keys",
                    System.Net.Http.Json.JsonContent.Create(new { name = parseResult.GetValue(name), expires_in_days = days }), ct);
                var data = (await ServerCommands.ReadAsync(response, ct))["data"]!;
                Console.WriteLine(data["key"]!.GetValue<string>());
                await Console.Error.WriteLineAsync($"API key {data["id"]} '{data["name"]}' created{(data["expires_at"] is { } e ? $", expires {e}" : string.Empty)}: store it now, it is not shown again.");
            });
        });

        var userId = new Option<long?>("--user-id") { Description = "Another user's keys (admins only)" };
        var list = new Command("list", "List API keys (never the secret).") { userId };
        list.SetAction((parseResult, ct) => ServerCommands.CallAsync(parseResult, async client =>
        {
            var query = "/api/v1/auth/api-keys?per_page=200" + (parseResult.GetValue(userId) is { } u ? $"&user_id={u}" : string.Empty);
            var table = new Table().AddColumns("id", "name", "key", "created_at", "last_used_at", "expires_at", "status");
            foreach (var k in (await ServerCommands.GetAsync(client, query, ct))["data"]!.AsArray())
            {
                var status = k!["revoked_at"] is not null ? "revoked" : k["expires_at"] is { } e && DateTimeOffset.Parse($"{e}", System.Globalization.CultureInfo.InvariantCulture) <= DateTimeOffset.UtcNow ? "expired" : "active";
                table.AddRow(Markup.Escape($"{k["id"]}"), Markup.Escape($"{k["name"]}"), Markup.Escape($"{k["prefix"]}…{k["last_chars"]}"), Markup.Escape($"{k["created_at"]}"),
                    Markup.Escape($"{k["last_used_at"] ?? "never"}"), Markup.Escape($"{k["expires_at"] ?? "never"}"), status);
            }

            AnsiConsole.Write(table);
        }));

        var id = new Argument<long>("id") { Description = "The key's id (see 'devorch apikey list')" };
        var revoke = new Command("revoke", "Revoke an API key.") { id };
        revoke.SetAction((parseResult, ct) => ServerCommands.CallAsync(parseResult, async client =>
        {
            using var response = await client.DeleteAsync($"/api/v1/auth/api-keys/{parseResult.GetValue(id)}", ct);
            var body = await ServerCommands.ReadAsync(response, ct);
            Console.WriteLine($"{body["message"]} ({body["data"]!["prefix"]}…{body["data"]!["last_chars"]})");
        }));
        return new Command("apikey", "API keys on a running server (bearer tokens for automation).") { ServerCommands.ServerOption, create, list, revoke };
    }

    public static Command Audit()
    {
        var action = new Option<string?>("--action") { Description = "Only this action (e.g. user.disabled)" };
        var actor = new Option<string?>("--actor") { Description = "Only this actor: user id, email or cli" };
        var since = new Option<string?>("--since") { Description = "Only entries at or after this ISO 8601 date or date-time" };
        var page = new Option<int>("--page") { DefaultValueFactory = _ => 1 };
        var list = new Command("list", "The audit log, newest first (admins only).") { action, actor, since, page };
        list.SetAction((parseResult, ct) => ServerCommands.CallAsync(parseResult, async client =>
        {
            var query = new StringBuilder($"/api/v1/audit?per_page=50&page={parseResult.GetValue(page)}");
            foreach (var (key, value) in new[] { ("action", parseResult.GetValue(action)), ("actor", parseResult.GetValue(actor)), ("since", parseResult.GetValue(since)) })
            {
                if (value is not null) query.Append('&').Append(key).Append('=').Append(Uri.EscapeDataString(value));
            }

            var body = await ServerCommands.GetAsync(client, query.ToString(), ct);
            var table = new Table().AddColumns("id", "at", "actor", "action", "target", "details");
            foreach (var e in body["data"]!.AsArray())
            {
                table.AddRow(Markup.Escape($"{e!["id"]}"), Markup.Escape($"{e["at"]}"), Markup.Escape($"{e["actor_email"]}"), Markup.Escape($"{e["action"]}"),
                    Markup.Escape($"{e["target_type"]} {e["target_id"]}"), Markup.Escape(e["details"]?.ToJsonString() ?? string.Empty));
            }

            AnsiConsole.Write(table);
        }));
        return new Command("audit", "The audit log of a running server.") { ServerCommands.ServerOption, list };
    }

    private static async Task<string?> ReadFileAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return TrimLineBreak(await File.ReadAllTextAsync(path, cancellationToken));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return null;
        }
    }

    private static async Task<string> ReadStdinPasswordAsync(CancellationToken cancellationToken)
    {
        if (Console.IsInputRedirected)
        {
            return TrimLineBreak(await Console.In.ReadToEndAsync(cancellationToken));
        }

        // A terminal: read without echo.
        await Console.Error.WriteAsync("New password: ");
        var typed = new StringBuilder();
        for (var key = Console.ReadKey(intercept: true); key.Key != ConsoleKey.Enter; key = Console.ReadKey(intercept: true))
        {
            if (key.Key == ConsoleKey.Backspace && typed.Length > 0) typed.Length--;
            else if (!char.IsControl(key.KeyChar)) typed.Append(key.KeyChar);
        }

        await Console.Error.WriteLineAsync();
        return typed.ToString();
    }

    private static string TrimLineBreak(string text) => text.EndsWith("\r\n", StringComparison.Ordinal) ? text[..^2] : text.EndsWith('\n') ? text[..^1] : text;
}
