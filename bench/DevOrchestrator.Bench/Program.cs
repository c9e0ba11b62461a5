using System.CommandLine;
using DevOrchestrator.Bench;

var server = new Option<string>("--server") { Description = "Base URL of a running devorch server (loopback only), e.g. http://127.0.0.1:8000", Required = true };
var token = new Option<string?>("--token") { Description = "Bearer token (JWT) of an operator or admin; default: DEVORCH_TOKEN" };
var mode = new Option<string>("--mode") { Description = "create: POST /api/v1/tasks throughput and latency; dispatch: task queued -> worker started it", Required = true };
mode.AcceptOnlyFromAmong("create", "dispatch");
var count = new Option<int>("--count") { Description = $"Requests (create) or tasks (dispatch) to send, 1..{BenchOptions.MaxCount}", DefaultValueFactory = _ => 1000 };
var concurrency = new Option<int>("--concurrency") { Description = $"Requests in flight at once, 1..{BenchOptions.MaxConcurrency}", DefaultValueFactory = _ => 16 };
var duration = new Option<double?>("--duration") { Description = $"Stop sending after this many seconds even if --count is not reached (default and maximum {BenchOptions.MaxDurationSeconds})" };
var workflow = new Option<string>("--workflow")
{
    Description = "Workflow of the created tasks. 'auto' (default): run_command_workflow with command=true when the server lists it, else the server's default. 'none': leave it out.",
    DefaultValueFactory = _ => "auto",
};
var rate = new Option<double>("--rate") { Description = "dispatch: tasks created per second (open loop); 0 = as fast as --concurrency allows", DefaultValueFactory = _ => 50 };
var autoStart = new Option<bool>("--auto-start") { Description = "create: send auto_start=true (queue each task, the default) or false (store only)", DefaultValueFactory = _ => true };
var warmup = new Option<int>("--warmup") { Description = "Requests sent (and not measured) before the run", DefaultValueFactory = _ => 0 };
var waitSeconds = new Option<double>("--wait") { Description = "dispatch: how long to wait for the last tasks to start, in seconds", DefaultValueFactory = _ => 60 };
var metrics = new Option<string?>("--metrics") { Description = "dispatch: Prometheus URL with task_dispatch_seconds (default: SERVER/metrics; the worker's in a split setup)" };
var serverPid = new Option<int?>("--server-pid") { Description = "Process id of the server, to report its CPU time during a create run (Linux /proc)" };
var label = new Option<string?>("--label") { Description = "Name of this run in the report (default: the mode)" };
var json = new Option<FileInfo?>("--json") { Description = "Append the result as one JSON line to this file" };
var markdown = new Option<FileInfo?>("--markdown") { Description = "Append the result as a markdown table to this file" };

var root = new RootCommand("devorch-bench: load generator for a running DevOrchestrator server (create-task throughput, dispatch latency); 'devorch-bench workspaces --help' for the workspace preparation benchmark.")
{
    server, token, mode, count, concurrency, duration, workflow, rate, autoStart, warmup, waitSeconds, metrics, serverPid, label, json, markdown,
};
root.Subcommands.Add(AgentTokensCommand.Create());
root.Subcommands.Add(AgentConcurrencyCommand.Create());
root.Subcommands.Add(FakeAnthropicCommand.Create());
root.Subcommands.Add(IntakeCommand.Create());
root.Subcommands.Add(EventsLatencyCommand.Create());
root.SetAction(async (parseResult, cancellationToken) =>
{
    var options = new BenchOptions(
        Server: parseResult.GetValue(server)!,
        Token: parseResult.GetValue(token) ?? Environment.GetEnvironmentVariable("DEVORCH_TOKEN") ?? "",
        Mode: parseResult.GetValue(mode)!,
        Count: parseResult.GetValue(count),
        Concurrency: parseResult.GetValue(concurrency),
        DurationSeconds: parseResult.GetValue(duration),
        Workflow: parseResult.GetValue(workflow)!,
        Rate: parseResult.GetValue(rate),
        AutoStart: parseResult.GetValue(autoStart),
        Warmup: parseResult.GetValue(warmup),
        WaitSeconds: parseResult.GetValue(waitSeconds),
        Label: parseResult.GetValue(label),
        ServerPid: parseResult.GetValue(serverPid),
        Metrics: parseResult.GetValue(metrics));
    var problems = options.Validate();
    if (problems.Count > 0)
    {
        foreach (var problem in problems)
        {
            await Console.Error.WriteLineAsync(problem);
        }

        return 2;
    }

    using var client = new DevorchClient(options.ServerUri, options.Token, options.Concurrency);
    TaskTemplate task;
    try
    {
        task = await client.ChooseWorkflowAsync(options.Workflow, cancellationToken);
    }
    catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException)
    {
        await Console.Error.WriteLineAsync($"devorch-bench: cannot start against {options.ServerUri}: {ex.Message}");
        return 1;
    }

    await Console.Error.WriteLineAsync($"devorch-bench: {options.Mode} against {options.ServerUri} with {task.Describe()}");
    if (options.Warmup > 0)
    {
        await CreateBenchmark.WarmUpAsync(client, task, options, cancellationToken);
    }

    BenchResult result = options.Mode == "create"
        ? await CreateBenchmark.RunAsync(client, task, options, cancellationToken)
        : await DispatchBenchmark.RunAsync(client, task, options, cancellationToken);

    var table = result.ToMarkdown();
    Console.WriteLine(table);
    if (parseResult.GetValue(markdown) is { } markdownFile)
    {
        await File.AppendAllTextAsync(markdownFile.FullName, table + Environment.NewLine, cancellationToken);
    }

    if (parseResult.GetValue(json) is { } jsonFile)
    {
        await File.AppendAllTextAsync(jsonFile.FullName, result.ToJson() + Environment.NewLine, cancellationToken);
    }

    return result.Succeeded ? 0 : 1;
});

root.Subcommands.Add(WorkspacesCommand.Create());

return await root.Parse(args).InvokeAsync();
