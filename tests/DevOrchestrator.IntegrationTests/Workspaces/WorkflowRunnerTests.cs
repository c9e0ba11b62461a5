using System.Diagnostics;
using System.Text.Json;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Events;
using DevOrchestrator.Features.Health;
using DevOrchestrator.Features.Workflows;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.IntegrationTests.Workspaces;

/// <summary>The runner against a real SQLite database, real git and the real sandbox.</summary>
public sealed class WorkflowRunnerTests
{
    private sealed class Harness : IAsyncDisposable
    {
        private Harness(WorkspaceTestRepository repository, ServiceProvider services)
        {
            Repository = repository;
            Services = services;
        }

        public WorkspaceTestRepository Repository { get; }
        public ServiceProvider Services { get; }

        public static async Task<Harness> CreateAsync(CancellationToken cancellationToken, params (string File, string Yaml)[] workflows)
        {
            var repository = await WorkspaceTestRepository.CreateAsync(cancellationToken);
            Directory.CreateDirectory(repository.Settings.Workflows.WorkflowsDir);
            foreach (var (file, yaml) in workflows)
            {
                await File.WriteAllTextAsync(Path.Combine(repository.Settings.Workflows.WorkflowsDir, file), yaml, cancellationToken);
            }

            var services = DevOrchestrator.Cli.WorkflowsValidateCommand.ValidationServices(repository.Settings)
                .AddDevOrchestratorDatabase(repository.Settings.Database)
                .BuildServiceProvider();
            await DatabaseMigrator.MigrateAsync(services, cancellationToken);
            return new Harness(repository, services);
        }

        public async Task<WorkflowRun> CreateRunAsync(string workflow, string title, object? variables, CancellationToken cancellationToken)
        {
            await using var scope = Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
            var now = DateTimeOffset.UtcNow;
            var project = await db.Projects.FirstOrDefaultAsync(cancellationToken);
            if (project is null)
            {
                project = new Project { Name = "demo", RepositoryUrl = Repository.Bare, DefaultBranch = "main", CreatedAt = now, UpdatedAt = now };
                db.Projects.Add(project);
                await db.SaveChangesAsync(cancellationToken);
            }

            var json = variables is null ? null : JsonSerializer.Serialize(variables);
            var task = new DevTask { ProjectId = project.Id, Title = title, Status = TaskStatuses.Running, Workflow = workflow, Variables = json, CreatedAt = now, UpdatedAt = now };
            db.Tasks.Add(task);
            await db.SaveChangesAsync(cancellationToken);
            var execution = new WorkflowExecution { TaskId = task.Id, WorkflowName = workflow, Status = WorkflowStatuses.Running, Variables = json, CreatedAt = now, StartedAt = now };
            db.WorkflowExecutions.Add(execution);
            await db.SaveChangesAsync(cancellationToken);
            return await NewAgentAsync(new WorkflowRun(task.Id, execution.Id, 0, "test-worker"), cancellationToken);
        }

        /// <summary>A new agent execution for the same workflow execution (as a worker that resumes it creates).</summary>
        public async Task<WorkflowRun> NewAgentAsync(WorkflowRun run, CancellationToken cancellationToken)
        {
            await using var scope = Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
            var agent = new AgentExecution { TaskId = run.TaskId, WorkflowExecutionId = run.WorkflowExecutionId, AgentType = "development", StartedAt = DateTimeOffset.UtcNow };
            db.AgentExecutions.Add(agent);
            await db.SaveChangesAsync(cancellationToken);
            return run with { AgentExecutionId = agent.Id };
        }

        public async Task<WorkflowOutcome> RunAsync(WorkflowRun run, CancellationToken cancellationToken)
        {
            await using var scope = Services.CreateAsyncScope();
            return await scope.ServiceProvider.GetRequiredService<WorkflowRunner>().RunAsync(run, cancellationToken);
        }

        public async Task<List<WorkflowStepExecution>> StepsAsync(long executionId, CancellationToken cancellationToken)
        {
            await using var scope = Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
            return await db.WorkflowSteps.AsNoTracking().Where(s => s.WorkflowExecutionId == executionId).OrderBy(s => s.Index).ToListAsync(cancellationToken);
        }

        public async ValueTask DisposeAsync()
        {
            await Services.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Repository.Dispose();
        }
    }

    [Fact]
    public async Task RunsTheRunCommandWorkflowAndPushesTheBranch()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var harness = await Harness.CreateAsync(ct);
        var run = await harness.CreateRunAsync("run_command_workflow", "Say hello", new { command = "echo hello > hello.txt" }, ct);

        var outcome = await harness.RunAsync(run, ct);

        Assert.True(outcome.Status == WorkflowRunStatus.Completed, outcome.Error);
        var branch = $"devorch/task-{run.TaskId}-say-hello";
        Assert.Equal(branch, outcome.Result["branch"]);
        Assert.Equal(branch, outcome.Branch);
        Assert.Equal("hello", (await harness.Repository.RemoteAsync(ct, "show", branch + ":hello.txt")).Output);
        Assert.Equal("DevOrchestrator: Say hello", (await harness.Repository.RemoteAsync(ct, "log", "-1", "--format=%s", branch)).Output);

        var steps = await harness.StepsAsync(run.WorkflowExecutionId, ct);
        Assert.Equal(["prepare", "run", "commit", "push"], steps.Select(s => s.Name));
        Assert.All(steps, s => Assert.Equal(StepStatuses.Completed, s.Status));
        Assert.All(steps, s => Assert.Equal(1, s.Attempts));
        Assert.Equal([0, 1, 2, 3], steps.Select(s => s.Index));
        Assert.All(steps, s => Assert.NotNull(s.CompletedAt));
        using (var inputs = JsonDocument.Parse(steps[1].Inputs!))
        {
            Assert.Equal("echo hello > hello.txt", inputs.RootElement.GetProperty("command").GetString());
        }

        using (var outputs = JsonDocument.Parse(steps[1].Outputs!))
        {
            Assert.Equal(0, outputs.RootElement.GetProperty("exit_code").GetInt32());
        }

        await using var scope = harness.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        var events = await db.Events.AsNoTracking().Where(e => e.TaskId == run.TaskId && e.Type == EventTypes.WorkflowStepCompleted).OrderBy(e => e.Id).ToListAsync(ct);
        Assert.Equal(4, events.Count);
        using (var payload = JsonDocument.Parse(events[3].Payload))
        {
            Assert.Equal("push", payload.RootElement.GetProperty("step").GetString());
            Assert.Equal("completed", payload.RootElement.GetProperty("status").GetString());
            Assert.Equal(run.WorkflowExecutionId, payload.RootElement.GetProperty("workflow_execution_id").GetInt64());
            Assert.Equal(branch, payload.RootElement.GetProperty("outputs").GetProperty("branch").GetString());
        }

        Assert.Contains(await db.Events.AsNoTracking().Where(e => e.TaskId == run.TaskId && e.Type == WorkflowRunner.StepProgressEvent).Select(e => e.Payload).ToListAsync(ct),
            p => p.Contains("echo hello", StringComparison.Ordinal));
        Assert.Equal("push", (await db.WorkflowExecutions.SingleAsync(w => w.Id == run.WorkflowExecutionId, ct)).CurrentStep);
        Assert.Equal("push", (await db.AgentExecutions.SingleAsync(a => a.Id == run.AgentExecutionId, ct)).CurrentStep);
        var metrics = harness.Services.GetRequiredService<DevOrchestratorMetrics>();
        Assert.Equal(1, metrics.WorkflowSteps.WithLabels("workspace.push", StepStatuses.Completed).Value);
    }

    [Fact]
    public async Task AResumedExecutionSkipsCompletedStepsAndReRunsTheRest()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var harness = await Harness.CreateAsync(ct);
        var run = await harness.CreateRunAsync("run_command_workflow", "Fix it", new { command = "echo broken >&2; exit 1" }, ct);

        var failed = await harness.RunAsync(run, ct);
        Assert.Equal(WorkflowRunStatus.Failed, failed.Status);
        Assert.StartsWith("step run failed: command exited with code 1", failed.Error, StringComparison.Ordinal);
        var afterFailure = await harness.StepsAsync(run.WorkflowExecutionId, ct);
        Assert.Equal([("prepare", StepStatuses.Completed), ("run", StepStatuses.Failed)], afterFailure.Select(s => (s.Name, s.Status)));

        // Resume the same execution (as after a worker restart) with a command that works now.
        await using (var scope = harness.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
            await db.WorkflowExecutions.Where(w => w.Id == run.WorkflowExecutionId)
                .ExecuteUpdateAsync(s => s.SetProperty(w => w.Variables, """{"command":"echo fixed > fixed.txt"}"""), ct);
        }

        var resumed = await harness.RunAsync(await harness.NewAgentAsync(run, ct), ct);

        Assert.True(resumed.Status == WorkflowRunStatus.Completed, resumed.Error);
        var steps = await harness.StepsAsync(run.WorkflowExecutionId, ct);
        Assert.Equal(["prepare", "run", "commit", "push"], steps.Select(s => s.Name));
        Assert.Equal(afterFailure[0].StartedAt, steps[0].StartedAt);
        Assert.Equal([1, 2, 1, 1], steps.Select(s => s.Attempts));
        Assert.Equal("fixed", (await harness.Repository.RemoteAsync(ct, "show", $"{resumed.Result["branch"]}:fixed.txt")).Output);
    }

    private const string RollbackWorkflow = """
        name: rollback_test
        variables:
          greeting: "hello ${task.title}"
        steps:
          - name: prepare
            plugin: workspace
            action: prepare
          - name: write
            plugin: workspace
            action: run_command
            inputs:
              command: "echo '${variables.greeting}' > greeting.txt"
          - name: optional
            plugin: workspace
            action: run_command
            inputs: {command: "exit 5"}
            on_error: continue
          - name: never
            plugin: workspace
            action: run_command
            inputs: {command: "echo never > never.txt"}
            when: "${steps.optional.status} == 'completed'"
          - name: commit
            plugin: workspace
            action: commit
            outputs: [committed, commit_sha]
          - name: push
            plugin: workspace
            action: push
            when: "${steps.commit.committed}"
          - name: verify
            plugin: workspace
            action: run_command
            inputs: {command: "test -f never.txt"}
            on_error: rollback
        """;

    private const string RetryWorkflow = """
        name: retry_test
        steps:
          - name: prepare
            plugin: workspace
            action: prepare
          - name: flaky
            plugin: workspace
            action: run_command
            inputs:
              command: "test -f marker || { touch marker; exit 1; }"
            on_error: retry
            retry_count: 2
        """;

    [Fact]
    public async Task ContinueWhenAndRollbackFromAWorkflowInWorkflowsDir()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var harness = await Harness.CreateAsync(ct, ("rollback.yaml", RollbackWorkflow), ("broken.yml", "name: broken\nsteps: 3\n"));
        var catalog = harness.Services.GetRequiredService<WorkflowCatalog>();
        Assert.Null(catalog.Find("broken"));
        Assert.Equal(Path.Combine(harness.Repository.Settings.Workflows.WorkflowsDir, "rollback.yaml"), Path.GetFullPath(catalog.Find("rollback_test")!.Source));
        Assert.Equal(WorkflowCatalog.BuiltInSource, catalog.Find("standard_dev_workflow")!.Source);
        var run = await harness.CreateRunAsync("rollback_test", "Roll back", null, ct);

        var outcome = await harness.RunAsync(run, ct);

        Assert.Equal(WorkflowRunStatus.Failed, outcome.Status);
        Assert.StartsWith("step verify failed: command exited with code 1; rolled back 4 step(s)", outcome.Error, StringComparison.Ordinal);
        var steps = await harness.StepsAsync(run.WorkflowExecutionId, ct);
        Assert.Equal(
            [("prepare", "rolled_back"), ("write", "rolled_back"), ("optional", "failed"), ("never", "skipped"), ("commit", "rolled_back"), ("push", "rolled_back"), ("verify", "failed")],
            steps.Select(s => (s.Name, s.Status)));
        using (var commitOutputs = JsonDocument.Parse(steps[4].Outputs!))
        {
            Assert.Equal(["committed", "commit_sha"], commitOutputs.RootElement.EnumerateObject().Select(p => p.Name));
        }

        var branch = $"devorch/task-{run.TaskId}-roll-back";
        Assert.NotEqual(0, (await harness.Repository.RemoteAsync(ct, "rev-parse", "--verify", "--quiet", "refs/heads/" + branch)).ExitCode);
        Assert.False(Directory.Exists(Path.Combine(harness.Repository.Settings.Workspaces.WorkspacesDir, "tasks", $"task-{run.TaskId}-{run.WorkflowExecutionId}")));
    }

    [Fact]
    public async Task TheCatalogLetsAFileOverrideABuiltInAndSeesNewFiles()
    {
        var ct = TestContext.Current.CancellationToken;
        var custom = RetryWorkflow.Replace("name: retry_test", "name: standard_dev_workflow", StringComparison.Ordinal);
        await using var harness = await Harness.CreateAsync(ct, ("standard.yaml", custom));
        var catalog = harness.Services.GetRequiredService<WorkflowCatalog>();

        var overridden = catalog.Find("standard_dev_workflow")!;
        Assert.EndsWith("standard.yaml", overridden.Source, StringComparison.Ordinal);
        Assert.Equal(["prepare", "flaky"], overridden.Steps.Select(s => s.Name));
        Assert.Equal(WorkflowCatalog.BuiltInSource, catalog.Find("hotfix_workflow")!.Source);
        Assert.Null(catalog.Find("retry_test"));

        await File.WriteAllTextAsync(Path.Combine(harness.Repository.Settings.Workflows.WorkflowsDir, "retry.yml"), RetryWorkflow, ct);
        Assert.NotNull(catalog.Find("retry_test"));
        Assert.Equal(5, catalog.List().Count);
    }

    [Fact]
    public async Task RetryRunsAFailedStepAgain()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var harness = await Harness.CreateAsync(ct, ("retry.yaml", RetryWorkflow));
        var run = await harness.CreateRunAsync("retry_test", "Retry", null, ct);

        var outcome = await harness.RunAsync(run, ct);

        Assert.True(outcome.Status == WorkflowRunStatus.Completed, outcome.Error);
        var flaky = (await harness.StepsAsync(run.WorkflowExecutionId, ct)).Single(s => s.Name == "flaky");
        Assert.Equal(StepStatuses.Completed, flaky.Status);
        Assert.Equal(2, flaky.Attempts);
    }

    [Fact]
    public async Task CancellationStopsTheRunningStepPromptly()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var harness = await Harness.CreateAsync(ct);
        var run = await harness.CreateRunAsync("run_command_workflow", "Wait", new { command = "sleep 30" }, ct);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);

        var running = harness.RunAsync(run, cancel.Token);
        var watch = Stopwatch.StartNew();
        while (!(await harness.StepsAsync(run.WorkflowExecutionId, ct)).Any(s => s.Name == "run" && s.Status == StepStatuses.Running) && watch.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(50, ct);
        }

        await Task.Delay(200, ct);
        watch.Restart();
        await cancel.CancelAsync();
        var outcome = await running;

        Assert.Equal(WorkflowRunStatus.Cancelled, outcome.Status);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"took {watch.Elapsed}");
        var steps = await harness.StepsAsync(run.WorkflowExecutionId, ct);
        Assert.Equal([("prepare", StepStatuses.Completed), ("run", StepStatuses.Cancelled)], steps.Select(s => (s.Name, s.Status)));
    }
}
