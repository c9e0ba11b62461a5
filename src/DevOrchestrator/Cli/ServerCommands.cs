using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using DevOrchestrator.Features.Costs;
using Spectre.Console;

namespace DevOrchestrator.Cli;

/// <summary>
/// Commands that are HTTP clients of a running server: <c>--server</c> (default <c>DEVORCH_SERVER</c> or
/// http://localhost:8000) and the bearer token from <c>DEVORCH_TOKEN</c>: <c>tasks</c>, <c>workflows list</c>, <c>costs</c>.
/// </summary>
internal static class ServerCommands
{
    private static readonly Option<string> s_server = new("--server")
    {
        Description = "The server's base URL (default: DEVORCH_SERVER or http://localhost:8000)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DEVORCH_SERVER") ?? "http://localhost:8000",
        Recursive = true,
    };

    /// <summary>The <c>--server</c> option (recursive: add it to a command group).</summary>
    internal static Option<string> ServerOption => s_server;

    /// <summary>Indented, and only what JSON requires escaped (no <c>\u002B</c> for '+', no <c>\u0027</c> for an apostrophe): for people to read.</summary>
    private static readonly System.Text.Json.JsonSerializerOptions s_readableJson = new()
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static Command Tasks()
    {
        var status = new Option<string?>("--status") { Description = "Filter by status (pending, queued, running, completed, failed, cancelled)" };
        var project = new Option<long?>("--project-id") { Description = "Filter by project" };
        var page = new Option<int>("--page") { DefaultValueFactory = _ => 1 };
        var list = new Command("list", "List tasks.") { status, project, page };
        list.SetAction((parseResult, ct) => CallAsync(parseResult, async client =>
        {
            var query = $"/api/v1/tasks?page={parseResult.GetValue(page)}&per_page=50";
            if (parseResult.GetValue(status) is { } s) query += "&status=" + Uri.EscapeDataString(s);
            if (parseResult.GetValue(project) is { } p) query += "&project_id=" + p;
            var body = await GetAsync(client, query, ct);
            var table = new Table().AddColumns("id", "status", "priority", "workflow", "title", "created_at");
            foreach (var t in body["data"]!.AsArray())
            {
                table.AddRow(Markup.Escape($"{t!["id"]}"), Markup.Escape($"{t["status"]}"), Markup.Escape($"{t["priority"]}"), Markup.Escape($"{t["workflow"]}"),
                    Markup.Escape($"{t["title"]}"), Markup.Escape($"{t["created_at"]}"));
            }

            AnsiConsole.Write(table);
            var pagination = body["pagination"]!;
            AnsiConsole.MarkupLine($"page {pagination["page"]} of {pagination["pages"]} ({pagination["total"]} tasks)");
        }));

        var id = new Argument<long>("id") { Description = "The task id" };
        var show = new Command("show", "Show a task and its workflow steps.") { id };
        show.SetAction((parseResult, ct) => CallAsync(parseResult, async client =>
        {
            var body = await GetAsync(client, $"/api/v1/tasks/{parseResult.GetValue(id)}", ct);
            Console.WriteLine(body["data"]!.ToJsonString(s_readableJson));
        }));

        var cancelId = new Argument<long>("id") { Description = "The task id" };
        var reason = new Option<string?>("--reason") { Description = "Why (stored as the task's error)" };
        var cancel = new Command("cancel", "Cancel a task.") { cancelId, reason };
        cancel.SetAction((parseResult, ct) => CallAsync(parseResult, async client =>
        {
            using var response = await client.PostAsync($"/api/v1/tasks/{parseResult.GetValue(cancelId)}/cancel",
                System.Net.Http.Json.JsonContent.Create(new { reason = parseResult.GetValue(reason) }), ct);
            var body = await ReadAsync(response, ct);
            Console.WriteLine(body["message"]?.ToString());
        }));

        return new Command("tasks", "Tasks on a running server.") { s_server, list, show, cancel };
    }

    public static Command WorkflowsList()
    {
        var list = new Command("list", "List the workflows a running server knows.") { s_server };
        list.SetAction((parseResult, ct) => CallAsync(parseResult, async client =>
        {
            var body = await GetAsync(client, "/api/v1/workflows", ct);
            var table = new Table().AddColumns("name", "steps", "source", "description");
            foreach (var w in body["data"]!.AsArray())
            {
                table.AddRow(Markup.Escape($"{w!["name"]}"), Markup.Escape($"{w["steps"]!.AsArray().Count}"), Markup.Escape($"{w["source"]}"), Markup.Escape($"{w["description"]}"));
            }

            AnsiConsole.Write(table);
        }));
        return list;
    }

    public static Command Costs()
    {
        var from = new Option<string?>("--from") { Description = "Start of the window: a date (2026-11-01) or a date-time (2026-11-01T08:00:00Z; UTC unless it has an offset). Default: the first of the current month" };
        var to = new Option<string?>("--to") { Description = "End of the window, exclusive (a date includes that whole day). Default: the end of the current month" };
        var groupBy = new Option<string>("--group-by") { Description = "day, model, project, task or user", DefaultValueFactory = _ => CostsApi.DefaultGroupBy };
        groupBy.AcceptOnlyFromAmong([.. CostsApi.GroupBys]);
        var command = new Command("costs", "Model spending and the monthly budget, from a running server.") { s_server, from, to, groupBy };
        command.SetAction((parseResult, ct) => CallAsync(parseResult, async client =>
        {
            var query = "/api/v1/costs?group_by=" + Uri.EscapeDataString(parseResult.GetValue(groupBy)!);
            if (parseResult.GetValue(from) is { } f) query += "&from=" + Uri.EscapeDataString(f);
            if (parseResult.GetValue(to) is { } t) query += "&to=" + Uri.EscapeDataString(t);
            var data = (await GetAsync(client, query, ct))["data"]!;
            AnsiConsole.MarkupLine(Markup.Escape(
                $"Month {data["month"]}: {Usd(data["month_spent_usd"])} spent, {Usd(data["reserved_usd"])} reserved by calls in flight, " +
                $"{Usd(data["remaining_usd"])} remaining of the {Usd(data["monthly_budget_usd"])} budget"));
            AnsiConsole.MarkupLine(Markup.Escape(
                $"Per-task limit {Usd(data["per_task_limit_usd"])}; cost tracking {((bool)data["cost_tracking_enabled"]! ? "on" : "off")}"));

            var rows = data["breakdown"]!.AsArray();
            var table = new Table()
                .AddColumn($"{data["group_by"]}")
                .AddColumn("label")
                .AddColumn(new TableColumn("calls").RightAligned())
                .AddColumn(new TableColumn("input").RightAligned())
                .AddColumn(new TableColumn("output").RightAligned())
                .AddColumn(new TableColumn("cache write").RightAligned())
                .AddColumn(new TableColumn("cache read").RightAligned())
                .AddColumn(new TableColumn("tokens").RightAligned())
                .AddColumn(new TableColumn("usd").RightAligned());
            foreach (var row in rows)
            {
                var tokens = row!["tokens"]!;
                table.AddRow(
                    Markup.Escape(row["key"]?.ToString() ?? "(none)"), Markup.Escape(row["label"]?.ToString() ?? ""), Count(row["calls"]),
                    Count(tokens["input"]), Count(tokens["output"]), Count(tokens["cache_write"]), Count(tokens["cache_read"]), Count(tokens["total"]),
                    Usd(row["usd"]));
            }

            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine(Markup.Escape(
                $"Total {Usd(data["total_usd"])} in {rows.Sum(r => (long)r!["calls"]!)} call(s) from {data["from"]} to {data["to"]}"));
        }));
        return command;

        static string Usd(JsonNode? value) => "$" + value!.GetValue<decimal>().ToString("0.00####", CultureInfo.InvariantCulture);

        static string Count(JsonNode? value) => value!.GetValue<long>().ToString("N0", CultureInfo.InvariantCulture);
    }

    public static Command Plugins()
    {
        var list = new Command("list", "List the plugins: configured or not, circuit state, and their settings (secrets only as set / unset).");
        list.SetAction((parseResult, ct) => CallAsync(parseResult, async client =>
        {
            var body = await GetAsync(client, "/api/v1/plugins", ct);
            var table = new Table().AddColumns("type", "name", "status", "circuit", "settings");
            foreach (var p in body["data"]!.AsArray())
            {
                var settings = string.Join(", ", p!["settings"]!.AsArray().Select(s => $"{s!["key"]}={DescribeSetting(s)}"));
                table.AddRow(Markup.Escape($"{p["type"]}"), Markup.Escape($"{p["name"]}"), Markup.Escape($"{p["status"]}"), Markup.Escape($"{p["circuit_state"]}"), Markup.Escape(settings));
            }

            AnsiConsole.Write(table);
        }));

        var name = new Argument<string?>("name") { Description = "Check only this plugin (github, jira, slack, confluence…)", Arity = ArgumentArity.ZeroOrOne };
        var check = new Command("check", "Connect to each configured plugin's vendor now and report; exit 1 when one fails.") { name };
        check.SetAction(async (parseResult, ct) =>
        {
            var failed = false;
            var code = await CallAsync(parseResult, async client =>
            {
                var plugins = (await GetAsync(client, "/api/v1/plugins", ct))["data"]!.AsArray()
                    .Where(p => parseResult.GetValue(name) is not { } only || string.Equals(p!["name"]!.ToString(), only, StringComparison.OrdinalIgnoreCase)).ToList();
                if (plugins.Count == 0)
                {
                    throw new ServerErrorException($"no plugin is named '{parseResult.GetValue(name)}'", ExitCodes.Usage);
                }

                var table = new Table().AddColumns("type", "name", "result", "detail");
                foreach (var p in plugins)
                {
                    using var response = await client.PostAsync($"/api/v1/plugins/{p!["type"]}/{p["name"]}/check", null, ct);
                    var data = (await ReadAsync(response, ct))["data"]!;
                    var configured = data["configured"]!.GetValue<bool>();
                    var healthy = data["healthy"]!.GetValue<bool>();
                    failed |= configured && !healthy;
                    // Not configured: name the required settings that are missing (not every required one).
                    var missing = p["settings"]!.AsArray().Where(s => s!["required"]!.GetValue<bool>() && !s["is_set"]!.GetValue<bool>()).Select(s => $"{s!["key"]}").ToList();
                    var detail = configured || missing.Count == 0 ? $"{data["message"]}" : $"missing {string.Join(", ", missing)}";
                    table.AddRow(Markup.Escape($"{p["type"]}"), Markup.Escape($"{p["name"]}"),
                        !configured ? "[grey]not configured[/]" : healthy ? "[green]ok[/]" : "[red]failed[/]", Markup.Escape(detail));
                }

                AnsiConsole.Write(table);
            });
            return code != 0 ? code : failed ? ExitCodes.Failure : ExitCodes.Ok;
        });
        return new Command("plugins", "Plugins on a running server.") { s_server, list, check };
    }

    /// <summary>
    /// A plugin setting as <c>plugins list</c> shows it: <c>set (environment)</c> / <c>set (stored)</c>, a default as
    /// <c>VALUE (default)</c>, else <c>unset</c> (<c>unset (required)</c> when the plugin needs it). Secrets never show a value.
    /// </summary>
    internal static string DescribeSetting(JsonNode setting)
    {
        var source = $"{setting["source"]}";
        if (setting["is_set"]!.GetValue<bool>())
        {
            return $"set ({source})";
        }

        if (source == "default")
        {
            return setting["secret"]!.GetValue<bool>() ? "(default)" : $"{setting["default"] ?? setting["value"]} (default)";
        }

        return setting["required"]!.GetValue<bool>() ? "unset (required)" : "unset";
    }

    internal static async Task<int> CallAsync(ParseResult parseResult, Func<HttpClient, Task> action)
    {
        var server = parseResult.GetValue(s_server)!;
        if (!Uri.TryCreate(server, UriKind.Absolute, out var baseAddress) || baseAddress.Scheme is not ("http" or "https"))
        {
            await Console.Error.WriteLineAsync($"--server must be an http(s) URL (got '{server}').");
            return 2;
        }

        var token = Environment.GetEnvironmentVariable("DEVORCH_TOKEN");
        if (string.IsNullOrWhiteSpace(token))
        {
            await Console.Error.WriteLineAsync("DEVORCH_TOKEN is not set: create a token with 'devorch token create --email you@example.com' (or an API key with 'devorch apikey create') and export it.");
            return 2;
        }

        using var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        try
        {
            await action(client);
            return 0;
        }
        catch (ServerErrorException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return ex.ExitCode;
        }
        catch (HttpRequestException ex)
        {
            await Console.Error.WriteLineAsync($"Cannot reach {baseAddress}: {ex.Message}");
            return 1;
        }
    }

    internal static async Task<JsonNode> GetAsync(HttpClient client, string url, CancellationToken ct)
    {
        using var response = await client.GetAsync(url, ct);
        return await ReadAsync(response, ct);
    }

    internal static async Task<JsonNode> ReadAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        JsonNode? body = null;
        try
        {
            body = JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
        }

        if (!response.IsSuccessStatusCode || body is null)
        {
            var error = body?["error"];
            var details = error?["details"] is JsonObject d ? " " + string.Join("; ", d.Select(kv => $"{kv.Key}: {kv.Value}")) : string.Empty;
            // The server refused the input as invalid: a usage error like a bad flag (2); anything else failed (1).
            var exitCode = response.StatusCode is System.Net.HttpStatusCode.BadRequest or System.Net.HttpStatusCode.UnprocessableEntity ? ExitCodes.Usage : ExitCodes.Failure;
            throw new ServerErrorException($"HTTP {(int)response.StatusCode}: {error?["message"] ?? text}{details}", exitCode);
        }

        return body;
    }

    private sealed class ServerErrorException(string message, int exitCode = ExitCodes.Failure) : Exception(message)
    {
        public int ExitCode { get; } = exitCode;
    }
}
