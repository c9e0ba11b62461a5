using DevOrchestrator.Features.Workflows;
using DevOrchestrator.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.UnitTests.Workflows;

public sealed class WorkflowValidatorTests
{
    /// <summary>The validator as the service builds it: with the real plugins' action descriptors (constructing them does no I/O).</summary>
    private static WorkflowValidator CreateValidator() =>
        Cli.WorkflowsValidateCommand.ValidationServices(new DevOrchestratorOptions()).BuildServiceProvider().GetRequiredService<WorkflowValidator>();

    private const string Valid = """
        name: run_tests_and_push
        description: Run the tests and push a branch
        variables:
          commit_message: "DevOrchestrator: ${task.title}"
        steps:
          - name: prepare
            type: plugin_action
            plugin: workspace
            action: prepare
            inputs: {}
          - name: tests
            type: plugin_action
            plugin: workspace
            action: run_command
            inputs:
              command: "${project.test_command}"
              timeout_seconds: 600
            when: "${project.test_command} != ''"
            on_error: continue
          - name: commit
            type: plugin_action
            plugin: workspace
            action: commit
            inputs:
              message: "${variables.commit_message}"
            outputs: [commit_sha, committed]
            on_error: retry
            retry_count: 2
          - name: push
            plugin: workspace
            action: push
            when: "${steps.commit.committed} == true"
        """;

    [Fact]
    public void AValidFileGivesItsDefinition()
    {
        var result = CreateValidator().Parse(Valid, "test.yaml");

        Assert.Empty(result.Errors);
        var definition = Assert.IsType<WorkflowDefinition>(result.Definition);
        Assert.Equal("run_tests_and_push", definition.Name);
        Assert.Equal("test.yaml", definition.Source);
        Assert.Equal("DevOrchestrator: ${task.title}", definition.Variables["commit_message"]);
        Assert.Equal(["prepare", "tests", "commit", "push"], definition.Steps.Select(s => s.Name));
        var tests = definition.Steps[1];
        Assert.Equal("workspace.run_command", tests.Qualified);
        Assert.Equal(600L, tests.Inputs["timeout_seconds"]);
        Assert.Equal(OnErrorPolicies.Continue, tests.OnError);
        Assert.Equal(11, tests.Line);
        var commit = definition.Steps[2];
        Assert.Equal(OnErrorPolicies.Retry, commit.OnError);
        Assert.Equal(2, commit.RetryCount);
        Assert.Equal(["commit_sha", "committed"], commit.Outputs);
        Assert.Equal(WorkflowStepTypes.PluginAction, definition.Steps[3].Type);
    }

    [Fact]
    public void ReportsEveryErrorWithItsLineAndColumn()
    {
        const string broken = """
            name: broken
            colour: blue
            steps:
              - name: prepare
                plugin: workspace
                action: prepare
                inputs:
                  branch: "${steps.commit.branch}"
              - name: prepare
                plugin: workspace
                action: explode
              - name: build
                plugin: nosuch
                action: run
                on_error: ignore
                retry_count: 11
              - name: tests
                plugin: workspace
                action: run_command
                inputs:
                  workdir: src
                  colour: "${env.SECRET}"
                when: "${steps.ghost.ok} == true and"
              - name: think
                type: ai_action
              - plugin: workspace
                action: commit
              - name: commit
                plugin: workspace
                inputs:
                  message: "${task.nope}"
            """;

        var errors = CreateValidator().Validate(broken, "broken.yaml");
        var byLine = errors.Select(e => (e.Line, e.Column, e.Message)).ToList();

        void Has(int line, int column, string fragment) =>
            Assert.True(byLine.Any(e => e.Line == line && e.Column == column && e.Message.Contains(fragment, StringComparison.Ordinal)),
                $"expected {line}:{column} '{fragment}' in:\n{string.Join('\n', errors)}");

        Has(2, 1, "unknown workflow key 'colour'");
        Has(8, 15, "uses step 'commit' before it runs");
        Has(9, 11, "duplicate step name 'prepare' (first at line 4)");
        Has(11, 13, "plugin 'workspace' has no action 'explode'");
        Has(13, 13, "unknown plugin 'nosuch'");
        Has(15, 15, "on_error must be one of fail, retry, continue, rollback");
        Has(16, 18, "retry_count must be a whole number from 0 to 10");
        Has(21, 7, "workspace.run_command requires input 'command'");
        Has(22, 7, "workspace.run_command has no input 'colour'");
        Has(22, 15, "unknown reference root");
        Has(23, 11, "bad when expression");
        Has(24, 5, "ai_action step 'think' needs an agent: key");
        Has(26, 5, "step is missing 'name'");
        Has(28, 5, "step 'commit' is missing 'action'");
        Has(31, 16, "unknown reference ${task.nope}");
        Assert.Equal(15, errors.Count);
        Assert.Equal(errors.OrderBy(e => e.Line).ThenBy(e => e.Column), errors);
    }

    [Fact]
    public void AReferenceToALaterStepInWhenIsAnError()
    {
        const string yaml = """
            name: w
            steps:
              - name: a
                plugin: workspace
                action: prepare
                when: "${steps.b.committed}"
              - name: b
                plugin: workspace
                action: commit
            """;

        var error = Assert.Single(CreateValidator().Validate(yaml, "w.yaml"));
        Assert.Equal(6, error.Line);
        Assert.Contains("uses step 'b' before it runs", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingNameAndStepsAreReported()
    {
        var errors = CreateValidator().Validate("description: nothing\n", "empty.yaml");
        Assert.Contains(errors, e => e.Message.Contains("workflow is missing 'name'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Message.Contains("workflow is missing 'steps'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("name: w\nsteps:\n  - name: a\n    plugin: [workspace\n    action: prepare\n", 4, 6)]
    [InlineData("name: w\nsteps:\n  - name: 'a\n    plugin: workspace\n", 3, 5)]
    [InlineData("name: w\nsteps:\n  - name: a\n   plugin: workspace\n  action: x\n", 3, 5)]
    public void AYamlSyntaxErrorIsReportedWithItsPosition(string yaml, int fromLine, int toLine)
    {
        var error = Assert.Single(CreateValidator().Validate(yaml, "bad.yaml"));
        Assert.StartsWith("YAML syntax error", error.Message, StringComparison.Ordinal);
        Assert.InRange(error.Line, fromLine, toLine);
    }

    [Fact]
    public void VariablesMayNotReferenceSteps()
    {
        const string yaml = """
            name: w
            variables:
              x: "${steps.a.branch}"
            steps:
              - name: a
                plugin: workspace
                action: prepare
            """;

        var error = Assert.Single(CreateValidator().Validate(yaml, "w.yaml"));
        Assert.Equal(3, error.Line);
        Assert.Contains("variables may use task and project only", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("standard_dev_workflow", 13)]
    [InlineData("hotfix_workflow", 10)]
    [InlineData("documentation_only_workflow", 6)]
    [InlineData("run_command_workflow", 4)]
    public void TheBuiltInWorkflowsAreValid(string name, int steps)
    {
        var yaml = WorkflowCatalog.ReadBuiltInYaml(name);
        Assert.NotNull(yaml);
        var result = CreateValidator().Parse(yaml, WorkflowCatalog.BuiltInSource);
        Assert.Empty(result.Errors);
        Assert.Equal(name, result.Definition!.Name);
        Assert.Equal(steps, result.Definition.Steps.Count);
        Assert.Contains(result.Definition.Steps, s => s.Name == "prepare");
    }

    private const string ToolsWorkflow = """
        name: docs_flow
        agent_tools: [read_file, list_files, search, write_file]
        steps:
          - name: prepare
            plugin: workspace
            action: prepare
          - name: look
            type: ai_action
            agent: development
            agent_tools: [read_file, search]
          - name: write
            type: ai_action
            agent: development
          - name: review
            type: ai_action
            agent: review
        """;

    [Fact]
    public void AgentToolsOfTheWorkflowApplyToEveryAiActionStepAndAStepMayNarrowThem()
    {
        var result = CreateValidator().Parse(ToolsWorkflow, "docs_flow.yaml");

        Assert.Empty(result.Errors);
        var definition = result.Definition!;
        Assert.Equal(["read_file", "list_files", "search", "write_file", "finish"], definition.AgentTools);
        Assert.Null(definition.Steps[0].AgentTools);
        Assert.Equal(["read_file", "search", "finish"], definition.Steps[1].AgentTools);
        Assert.Equal(["read_file", "list_files", "search", "write_file", "finish"], definition.Steps[2].AgentTools);
        Assert.Equal(definition.AgentTools, definition.Steps[3].AgentTools);

        // Without agent_tools every tool is offered (null).
        Assert.All(CreateValidator().Parse(WorkflowCatalog.ReadBuiltInYaml("standard_dev_workflow")!, "builtin").Definition!.Steps, s => Assert.Null(s.AgentTools));
    }

    [Fact]
    public void UnknownOrDisallowedAgentToolsAreErrorsAtTheirLine()
    {
        var yaml = """
            name: w
            agent_tools: [read_file, run_comand, write_file]
            steps:
              - name: prepare
                plugin: workspace
                action: prepare
                agent_tools: [read_file]
              - name: implement
                type: ai_action
                agent: development
                agent_tools:
                  - read_file
                  - run_command
                  - delete_everything
            """;

        var errors = CreateValidator().Validate(yaml, "w.yaml");

        Assert.Equal(4, errors.Count);
        Assert.Equal((2, "unknown agent tool 'run_comand' (tools: list_files, read_file, search, replace, write_file, run_command, show_diff, finish)"), (errors[0].Line, errors[0].Message));
        Assert.Equal((7, "agent_tools applies to ai_action steps only"), (errors[1].Line, errors[1].Message));
        Assert.Equal((13, "agent tool 'run_command' is not in the workflow's agent_tools (read_file, write_file, finish)"), (errors[2].Line, errors[2].Message));
        Assert.Equal(14, errors[3].Line);
        Assert.StartsWith("unknown agent tool 'delete_everything'", errors[3].Message, StringComparison.Ordinal);

        var notAList = Assert.Single(CreateValidator().Validate("name: w\nagent_tools: read_file\nsteps:\n  - name: p\n    plugin: workspace\n    action: prepare\n", "w.yaml"));
        Assert.Equal(2, notAList.Line);
        Assert.StartsWith("agent_tools must be a list of tool names", notAList.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheDocumentationWorkflowsAgentCannotRunCommands()
    {
        var definition = CreateValidator().Parse(WorkflowCatalog.ReadBuiltInYaml("documentation_only_workflow")!, WorkflowCatalog.BuiltInSource).Definition!;

        var implement = Assert.Single(definition.Steps, s => s.Type == WorkflowStepTypes.AiAction);
        Assert.NotNull(implement.AgentTools);
        Assert.DoesNotContain(AgentToolNames.RunCommand, implement.AgentTools);
        Assert.Contains(AgentToolNames.WriteFile, implement.AgentTools);
    }
}
