using System.CommandLine;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Agents;
using DevOrchestrator.Features.Events;
using DevOrchestrator.Features.Health;
using DevOrchestrator.Features.Plugins;
using DevOrchestrator.Features.Workflows;
using DevOrchestrator.Features.Workspaces;
using DevOrchestrator.Hosting;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Cli;

/// <summary>
/// <c>devorch workflows validate FILE</c>: checks a workflow file locally against the built-in plugins and prints
/// <c>FILE:LINE:COL: message</c> per error (exit 1), or <c>FILE: valid (N steps)</c> (exit 0); exit 2 when the file
/// is missing.
/// </summary>
public static class WorkflowsValidateCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("FILE") { Description = "The workflow YAML file to check" };
        var command = new Command("validate", "Check a workflow file and list every error with its line and column.") { file };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            // The step instruction templates a prompt_template: may name are those of PROMPTS_DIR, as the service reads it.
            await using var services = ValidationServices(new DevOrchestratorOptions { Agents = new AgentOptions { PromptsDir = PromptsCommand.ConfiguredDirectory() } }).BuildServiceProvider();
            var validator = services.GetRequiredService<WorkflowValidator>();
            return await RunAsync(parseResult.GetValue(file)!, validator, Console.Out, Console.Error, cancellationToken);
        });
        return command;
    }

    /// <summary>
    /// What validating a workflow needs, as the service registers it: every step type and every plugin's actions
    /// (registering them does no I/O).
    /// </summary>
    public static ServiceCollection ValidationServices(DevOrchestratorOptions options)
    {
        var services = new ServiceCollection();
        options.AddTo(services)
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().Build())
            .AddSingleton(TimeProvider.System)
            .AddLogging()
            // Validating opens no database: the action sets only need a context factory to be constructed.
            .AddPooledDbContextFactory<SqliteAppDbContext>(o => o.UseSqlite("Data Source=:memory:"))
            .AddSingleton<IDbContextFactory<AppDbContext>, AppDbContextFactory<SqliteAppDbContext>>()
            .AddEvents()
            .AddPrometheusMetrics()
            .AddWorkspaces()
            .AddAgents()
            .AddPlugins(options.Plugins, options.Resilience, new StoredPluginConfiguration())
            .AddWorkflows();
        return services;
    }

    public static async Task<int> RunAsync(FileInfo file, WorkflowValidator validator, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (!file.Exists)
        {
            await error.WriteLineAsync($"{file}: no such file");
            return 2;
        }

        var yaml = await File.ReadAllTextAsync(file.FullName, cancellationToken);
        var result = validator.Parse(yaml, file.FullName);
        if (result.Errors.Count > 0)
        {
            foreach (var problem in result.Errors)
            {
                await output.WriteLineAsync($"{file}:{problem.Line}:{problem.Column}: {problem.Message}");
            }

            return 1;
        }

        await output.WriteLineAsync($"{file}: valid ({result.Definition!.Steps.Count} steps)");
        return 0;
    }
}
