using System.CommandLine;
using System.Text.Json;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Costs;
using DevOrchestrator.Features.Events;
using DevOrchestrator.Features.Tasks;
using DevOrchestrator.Features.Workflows;
using DevOrchestrator.Features.Workspaces;
using DevOrchestrator.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Spectre.Console;

namespace DevOrchestrator.Cli;

/// <summary>
/// <c>devorch run --repo PATH|URL [--base BRANCH] [--workflow NAME] "task"</c>: runs one task in this process on the
/// embedded defaults (SQLite, workspaces and package caches under <c>~/.devorch</c> unless DATA_DIR / WORKSPACES_DIR /
/// PACKAGE_CACHE_DIR say otherwise),
/// shows live progress — the current step, the agent's turns, tokens and dollars so far — and prints the branch (only
/// one it pushed; otherwise "Not pushed" and the worktree's local branch), the diff stat and the cost. Exit code 0 when the task completed, 1 when it failed or was cancelled, 3 when a budget
/// stopped it, 2 for bad arguments or settings. Ctrl+C cancels the task.
/// </summary>
public static class RunCommand
{
    public static Command Create()
    {
        var repo = new Option<string>("--repo") { Description = "The repository: a local path or a clone URL", Required = true };
        var baseBranch = new Option<string?>("--base") { Description = "The branch to start from (default: the repository's current or default branch)" };
        var workflow = new Option<string>("--workflow") { Description = "The workflow to run", DefaultValueFactory = _ => "standard_dev_workflow" };
        var logLevel = new Option<string>("--log-level") { Description = "Level of the JSON log written to DATA_DIR/devorch-run.log", DefaultValueFactory = _ => "info" };
        logLevel.AcceptOnlyFromAmong("trace", "debug", "info", "information", "warning", "error", "critical");
        var text = new Argument<string>("task") { Description = "What to do, in words (the first line is the title)" };
        var command = new Command("run", "Run one task in-process with live progress, then print the branch, diff stat and cost.") { repo, baseBranch, workflow, logLevel, text };
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            parseResult.GetValue(repo)!, parseResult.GetValue(baseBranch), parseResult.GetValue(workflow)!, parseResult.GetValue(logLevel)!, parseResult.GetValue(text)!, cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(string repo, string? baseBranch, string workflowName, string logLevel, string taskText, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(taskText))
        {
            await Console.Error.WriteLineAsync("The task text must not be empty: devorch run --repo . \"what to do\"");
            return 2;
        }

        var isUrl = repo.Contains("://", StringComparison.Ordinal) || repo.StartsWith("git@", StringComparison.Ordinal);
        var repository = isUrl ? repo : Path.GetFullPath(repo);
        if (!isUrl && !Directory.Exists(Path.Combine(repository, ".git")) && !File.Exists(Path.Combine(repository, "HEAD")))
        {
            await Console.Error.WriteLineAsync($"--repo: '{repo}' is not a git repository (no .git found in {repository}).");
            return 2;
        }

        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var defaults = Path.Combine(string.IsNullOrEmpty(home) ? Path.GetTempPath() : home, ".devorch");
        var app = DevOrchestratorApp.Build(new ServeOptions(ServiceRole.All, "http://127.0.0.1:0", false, logLevel), builder =>
        {
            var configuration = builder.Configuration;
            if (string.IsNullOrWhiteSpace(configuration["DATA_DIR"]))
            {
                configuration["DATA_DIR"] = Path.Combine(defaults, "data");
            }

            if (string.IsNullOrWhiteSpace(configuration["WORKSPACES_DIR"]))
            {
                configuration["WORKSPACES_DIR"] = Path.Combine(defaults, "workspaces");
            }

            if (string.IsNullOrWhiteSpace(configuration["PACKAGE_CACHE_DIR"]))
            {
                configuration["PACKAGE_CACHE_DIR"] = Path.Combine(defaults, "package-caches");
            }

            if (string.IsNullOrWhiteSpace(configuration["LOG_FILE"]))
            {
                configuration["LOG_FILE"] = Path.Combine(Path.GetFullPath(configuration["DATA_DIR"]!), "devorch-run.log");
            }
        }, checkOptions: o => DatabaseMigrator.EnsureReachable(o.Database));
        Directory.CreateDirectory(app.Services.GetRequiredService<IOptions<ServerOptions>>().Value.FullDataDir);
        await DatabaseMigrator.MigrateOnStartIfEmbeddedAsync(app, cancellationToken);
        if (app.Services.GetRequiredService<WorkflowCatalog>().Find(workflowName) is null)
        {
            await Console.Error.WriteLineAsync($"--workflow: there is no workflow '{workflowName}' (see 'devorch workflows list' on a server, or docs/workflows.md).");
            return 2;
        }

        await app.StartAsync(cancellationToken);
        try
        {
            var git = app.Services.GetRequiredService<GitCli>();
            var branch = baseBranch ?? await CurrentBranchAsync(git, repository, isUrl, cancellationToken);
            long taskId;
            await using (var scope = app.Services.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
                var project = await FindOrCreateProjectAsync(db, repository, branch, cancellationToken);
                var lines = taskText.Trim().Split('\n', 2);
                var task = await scope.ServiceProvider.GetRequiredService<TaskLifecycle>().CreateAsync(
                    new NewTask(lines[0].Trim().Length > 500 ? lines[0].Trim()[..500] : lines[0].Trim())
                    {
                        ProjectId = project.Id,
                        Description = taskText.Trim(),
                        Source = TaskSources.Cli,
                        Workflow = workflowName,
                    },
                    start: true);
                taskId = task.Id;
            }

            AnsiConsole.MarkupLine($"[bold]Task {taskId}[/] on [blue]{Markup.Escape(repository)}[/] ({Markup.Escape(branch)}), workflow {Markup.Escape(workflowName)}");
            var finalStatus = await FollowAsync(app.Services, taskId, cancellationToken);
            return await ReportAsync(app.Services, taskId, finalStatus);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
        }
    }

    /// <summary>Prints the task's events as they come, with a live status line, until it finishes; Ctrl+C cancels it.</summary>
    private static async Task<string> FollowAsync(IServiceProvider services, long taskId, CancellationToken cancellationToken)
    {
        var signal = services.GetRequiredService<EventSignal>();
        var lastId = 0L;
        var cancelled = false;
        var status = TaskStatuses.Queued;
        await AnsiConsole.Status().Spinner(Spinner.Known.Dots).StartAsync("queued", async ctx =>
        {
            var step = "-";
            while (true)
            {
                if (cancellationToken.IsCancellationRequested && !cancelled)
                {
                    cancelled = true;
                    await using var cancelScope = services.CreateAsyncScope();
                    var cancelDb = cancelScope.ServiceProvider.GetRequiredService<AppDbContext>();
                    var current = await cancelDb.Tasks.SingleAsync(t => t.Id == taskId, CancellationToken.None);
                    await cancelScope.ServiceProvider.GetRequiredService<TaskLifecycle>().CancelAsync(current, "cancelled from the command line");
                    AnsiConsole.MarkupLine("[yellow]cancelling…[/]");
                }

                await using var db = services.GetRequiredService<IDbContextFactory<AppDbContext>>().CreateDbContext();
                var events = await db.Events.AsNoTracking().Where(e => e.TaskId == taskId && e.Id > lastId).OrderBy(e => e.Id).Take(200).ToListAsync(CancellationToken.None);
                foreach (var ev in events)
                {
                    lastId = ev.Id;
                    if (Describe(ev) is { } line)
                    {
                        AnsiConsole.MarkupLine(line);
                    }

                    if (ev.Type == EventTypes.WorkflowStepCompleted || ev.Type == WorkflowRunner.StepProgressEvent)
                    {
                        step = Read(ev.Payload, "step") ?? step;
                    }
                }

                var task = await db.Tasks.AsNoTracking().Where(t => t.Id == taskId).Select(t => new { t.Status, t.CostMicros }).SingleAsync(CancellationToken.None);
                status = task.Status;
                var tokens = await db.CostEntries.AsNoTracking().Where(c => c.TaskId == taskId)
                    .SumAsync(c => (long?)(c.InputTokens + c.OutputTokens + c.CacheReadTokens + c.CacheWriteTokens), CancellationToken.None) ?? 0;
                ctx.Status($"{status} · step {Markup.Escape(step)} · {tokens:N0} tokens · ${Money.ToUsd(task.CostMicros):0.0000}");
                if (TaskStatuses.IsFinished(status))
                {
                    return;
                }

                await signal.WaitAsync(TimeSpan.FromMilliseconds(500), CancellationToken.None);
            }
        });
        return status;
    }

    private static string? Describe(TaskEvent ev)
    {
        var at = ev.CreatedAt.ToLocalTime().ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
        return ev.Type switch
        {
            WorkflowRunner.StepProgressEvent => $"[grey]{at}[/] {Markup.Escape(Read(ev.Payload, "step") ?? "?")}: {Markup.Escape(Read(ev.Payload, "message") ?? string.Empty)}",
            EventTypes.WorkflowStepCompleted => $"[grey]{at}[/] [bold]{Markup.Escape(Read(ev.Payload, "step") ?? "?")}[/] {Colour(Read(ev.Payload, "status"))}{(Read(ev.Payload, "error") is { Length: > 0 } error ? ": " + Markup.Escape(error) : string.Empty)}",
            EventTypes.TaskStatusUpdate => $"[grey]{at}[/] task {Colour(Read(ev.Payload, "status"))}",
            EventTypes.SystemAlert => $"[grey]{at}[/] [red]alert[/]: {Markup.Escape(Read(ev.Payload, "message") ?? string.Empty)}",
            _ => null,
        };
    }

    private static string Colour(string? status) => status switch
    {
        "completed" => "[green]completed[/]",
        "failed" or "budget_exceeded" => $"[red]{status}[/]",
        "skipped" or "cancelled" => $"[yellow]{status}[/]",
        null => "?",
        _ => Markup.Escape(status),
    };

    private static string? Read(string payload, string name)
    {
        using var json = JsonDocument.Parse(payload);
        return json.RootElement.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value.ToString() : null;
    }

    private static async Task<int> ReportAsync(IServiceProvider services, long taskId, string status)
    {
        await using var db = services.GetRequiredService<IDbContextFactory<AppDbContext>>().CreateDbContext();
        var task = await db.Tasks.AsNoTracking().SingleAsync(t => t.Id == taskId);
        var costs = await db.CostEntries.AsNoTracking().Where(c => c.TaskId == taskId).ToListAsync();
        AnsiConsole.WriteLine();
        AnsiConsole.MarkupLine($"Status: {Colour(status)}{(task.Error is { Length: > 0 } error ? " — " + Markup.Escape(error) : string.Empty)}");
        if (task.Branch is { Length: > 0 } branch)
        {
            AnsiConsole.MarkupLine($"Branch: [blue]{Markup.Escape(branch)}[/]");
        }

        var execution = await db.WorkflowExecutions.AsNoTracking().Where(w => w.TaskId == taskId).OrderByDescending(w => w.Id).FirstOrDefaultAsync();
        var worktree = execution is null ? null : services.GetRequiredService<WorkspaceActions>().WorktreePath(taskId, execution.Id);
        if (worktree is not null && Directory.Exists(worktree))
        {
            var git = services.GetRequiredService<GitCli>();
            var stat = await git.RunAsync(worktree, ["diff", "--stat", "HEAD@{upstream}", "HEAD"], CancellationToken.None, allowFailure: true);
            if (stat.ExitCode != 0)
            {
                var project = await db.Projects.AsNoTracking().SingleAsync(p => p.Id == task.ProjectId);
                stat = await git.RunAsync(worktree, ["diff", "--stat", $"origin/{project.DefaultBranch}", "HEAD"], CancellationToken.None, allowFailure: true);
            }

            if (stat.ExitCode == 0 && stat.Output.Length > 0)
            {
                AnsiConsole.WriteLine(stat.Output);
            }

            AnsiConsole.MarkupLine($"Worktree: {Markup.Escape(worktree)}");
            if (task.Branch is null)
            {
                // Only a pushed branch is the task's branch; say where the work is without claiming it was pushed.
                var local = await git.RunAsync(worktree, ["rev-parse", "--abbrev-ref", "HEAD"], CancellationToken.None, allowFailure: true);
                AnsiConsole.MarkupLine(local.ExitCode == 0 ? $"Not pushed: the work is on the local branch {Markup.Escape(local.Output)}" : "Not pushed.");
            }
        }

        if (task.Result is { Length: > 0 } result && JsonDocument.Parse(result).RootElement is { ValueKind: JsonValueKind.Object } root &&
            root.TryGetProperty("review", out var review) && review.ValueKind == JsonValueKind.Object)
        {
            AnsiConsole.MarkupLine($"Review: {Markup.Escape(review.GetProperty("verdict").ToString())}");
        }

        var table = new Table().AddColumns("model", "calls", "input", "output", "cache write", "cache read", "USD");
        foreach (var group in costs.GroupBy(c => c.Model))
        {
            table.AddRow(Markup.Escape(group.Key), group.Count().ToString(System.Globalization.CultureInfo.InvariantCulture), $"{group.Sum(c => c.InputTokens):N0}", $"{group.Sum(c => c.OutputTokens):N0}",
                $"{group.Sum(c => c.CacheWriteTokens):N0}", $"{group.Sum(c => c.CacheReadTokens):N0}", $"{group.Sum(c => c.Usd):0.000000}");
        }

        if (costs.Count > 0)
        {
            AnsiConsole.Write(table);
        }

        AnsiConsole.MarkupLine($"Cost: [bold]${Money.ToUsd(task.CostMicros):0.000000}[/] ({costs.Count} model call(s))");
        return status switch
        {
            TaskStatuses.Completed => 0,
            TaskStatuses.BudgetExceeded => 3,
            _ => 1,
        };
    }

    private static async Task<string> CurrentBranchAsync(GitCli git, string repository, bool isUrl, CancellationToken cancellationToken)
    {
        if (isUrl)
        {
            var remote = await git.RunAsync(null, ["ls-remote", "--symref", repository, "HEAD"], cancellationToken, allowFailure: true);
            var line = remote.Stdout.Split('\n').FirstOrDefault(l => l.StartsWith("ref: refs/heads/", StringComparison.Ordinal));
            return line is null ? "main" : line["ref: refs/heads/".Length..].Split('\t')[0].Trim();
        }

        var head = await git.RunAsync(repository, ["symbolic-ref", "--short", "-q", "HEAD"], cancellationToken, allowFailure: true);
        return head.ExitCode == 0 && head.Output.Length > 0 ? head.Output : "main";
    }

    private static async Task<Project> FindOrCreateProjectAsync(AppDbContext db, string repository, string branch, CancellationToken cancellationToken)
    {
        var project = await db.Projects.FirstOrDefaultAsync(p => p.RepositoryUrl == repository, cancellationToken);
        if (project is not null)
        {
            project.DefaultBranch = branch;
            await db.SaveChangesAsync(cancellationToken);
            return project;
        }

        var name = "cli: " + (repository.TrimEnd('/').Split('/', '\\').LastOrDefault() ?? "repository");
        var taken = await db.Projects.CountAsync(p => p.Name.StartsWith(name), cancellationToken);
        var now = TimeProvider.System.GetUtcNow();
        project = new Project { Name = taken == 0 ? name : $"{name} ({taken + 1})", RepositoryUrl = repository, DefaultBranch = branch, CreatedAt = now, UpdatedAt = now };
        db.Projects.Add(project);
        await db.SaveChangesAsync(cancellationToken);
        return project;
    }
}
