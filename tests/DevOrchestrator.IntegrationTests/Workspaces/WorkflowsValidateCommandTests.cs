using DevOrchestrator.Cli;
using DevOrchestrator.Features.Workflows;
using DevOrchestrator.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.IntegrationTests.Workspaces;

/// <summary><c>devorch workflows validate FILE</c> on real files.</summary>
public sealed class WorkflowsValidateCommandTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("devorch-validate-").FullName;

    private static WorkflowValidator Validator() =>
        WorkflowsValidateCommand.ValidationServices(new DevOrchestratorOptions()).BuildServiceProvider().GetRequiredService<WorkflowValidator>();

    [Fact]
    public async Task PrintsEachErrorWithFileLineAndColumnAndExitsOne()
    {
        var file = new FileInfo(Path.Combine(_root, "bad.yaml"));
        await File.WriteAllTextAsync(file.FullName, "name: bad\nsteps:\n  - name: a\n    plugin: workspace\n    action: fly\n    on_error: shrug\n", TestContext.Current.CancellationToken);
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await WorkflowsValidateCommand.RunAsync(file, Validator(), output, error, TestContext.Current.CancellationToken);

        Assert.Equal(1, code);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"{file}:5:13: plugin 'workspace' has no action 'fly'", lines[0], StringComparison.Ordinal);
        Assert.StartsWith($"{file}:6:15: on_error must be one of", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task AValidFileExitsZeroAndAMissingOneTwo()
    {
        var file = new FileInfo(Path.Combine(_root, "ok.yaml"));
        await File.WriteAllTextAsync(file.FullName, WorkflowCatalog.ReadBuiltInYaml("run_command_workflow"), TestContext.Current.CancellationToken);
        using var output = new StringWriter();
        using var error = new StringWriter();

        Assert.Equal(0, await WorkflowsValidateCommand.RunAsync(file, Validator(), output, error, TestContext.Current.CancellationToken));
        Assert.Equal($"{file}: valid (4 steps)", output.ToString().Trim());

        var missing = new FileInfo(Path.Combine(_root, "nope.yaml"));
        Assert.Equal(2, await WorkflowsValidateCommand.RunAsync(missing, Validator(), output, error, TestContext.Current.CancellationToken));
        Assert.Contains("no such file", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheCommandParsesItsArgument()
    {
        var file = Path.Combine(_root, "ok.yaml");
        await File.WriteAllTextAsync(file, WorkflowCatalog.ReadBuiltInYaml("hotfix_workflow"), TestContext.Current.CancellationToken);
        var command = WorkflowsValidateCommand.Create();

        var parsed = command.Parse([file]);

        Assert.Empty(parsed.Errors);
        Assert.Equal(0, await parsed.InvokeAsync(cancellationToken: TestContext.Current.CancellationToken));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
