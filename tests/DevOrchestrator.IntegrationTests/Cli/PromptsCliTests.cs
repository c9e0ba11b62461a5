using System.Diagnostics;
using DevOrchestrator.IntegrationTests.Infrastructure;

namespace DevOrchestrator.IntegrationTests.Cli;

/// <summary><c>devorch prompts list|show|validate</c>, <c>serve</c> refusing a bad template and <c>workflows validate</c>'s <c>prompt_template:</c>, run as separate processes.</summary>
public sealed class PromptsCliTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("devorch-prompts-cli-").FullName;

    public PromptsCliTests() => Directory.CreateDirectory(Prompts);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Prompts => Path.Combine(_directory, "prompts");

    private string FileOf(string name) => Path.Combine(Prompts, name + ".liquid");

    private async Task<(int ExitCode, string Stdout, string Stderr)> DevorchAsync(params string[] args)
    {
        var ct = TestContext.Current.CancellationToken;
        var start = DevorchProcess.StartInfo(args, [new("PROMPTS_DIR", Prompts)], _directory);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        return (process.ExitCode, await stdout, await stderr);
    }

    private static string[] Columns(string stdout, string name) =>
        stdout.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal)).Split("  ", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Fact]
    public async Task List_show_and_validate_report_the_effective_templates_and_every_problem_with_file_and_line()
    {
        const string Override = "You are our agent.\n{%- if instructions != empty %}\n\n{{ instructions }}\n{%- endif %}\n";
        await File.WriteAllTextAsync(FileOf("development_system"), Override, TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(FileOf("team_rules"), "Follow {{ project.name }}'s rules for {{ task.title | untrusted: 'title' }}.\n", TestContext.Current.CancellationToken);

        var list = await DevorchAsync("prompts", "list");
        Assert.True(list.ExitCode == 0, list.Stderr);
        Assert.Equal(["development_system", "agent", FileOf("development_system"), "instructions"], Columns(list.Stdout, "development_system"));
        Assert.Equal(["review_task", "agent", "embedded", "task, task_source, diff, tests"], Columns(list.Stdout, "review_task"));
        Assert.Equal(["review_system", "agent", "embedded", "-"], Columns(list.Stdout, "review_system"));
        Assert.Equal(["hotfix_instructions", "instructions", "embedded", "task, project, step"], Columns(list.Stdout, "hotfix_instructions"));
        Assert.Equal(["team_rules", "instructions", FileOf("team_rules"), "task, project, step"], Columns(list.Stdout, "team_rules"));

        var config = await DevorchAsync("config", "show");
        Assert.Contains(config.Stdout.Split('\n'), l => l.StartsWith("PROMPTS_DIR ", StringComparison.Ordinal) && l.Contains(Prompts, StringComparison.Ordinal) && l.TrimEnd().EndsWith("environment", StringComparison.Ordinal));

        var shown = await DevorchAsync("prompts", "show", "development_system");
        Assert.Equal(0, shown.ExitCode);
        Assert.Equal(Override, shown.Stdout);
        var embedded = await DevorchAsync("prompts", "show", "review_task");
        Assert.Equal(0, embedded.ExitCode);
        Assert.StartsWith("<task>\n{{ task | strip | untrusted: task_source }}\n</task>", embedded.Stdout, StringComparison.Ordinal);
        var unknown = await DevorchAsync("prompts", "show", "no_such_prompt");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("no prompt template 'no_such_prompt'", unknown.Stderr, StringComparison.Ordinal);
        Assert.Empty(unknown.Stdout);

        var valid = await DevorchAsync("prompts", "validate");
        Assert.True(valid.ExitCode == 0, valid.Stdout + valid.Stderr);
        Assert.Contains("prompt templates valid (2 from files", valid.Stdout, StringComparison.Ordinal);

        await File.WriteAllTextAsync(FileOf("review_task"), "<task>\n{{ task }}\n</task>\n<diff>\n{{ diff | no_such_filter | untrusted }}\n</diff>\n{{ test_report }}\n", TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(FileOf("team_rules"), "Rules:\n\n{% for rule in task.rules %}\n", TestContext.Current.CancellationToken);
        var invalid = await DevorchAsync("prompts", "validate");
        Assert.Equal(1, invalid.ExitCode);
        var lines = invalid.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.Contains($"{FileOf("review_task")}:7: unknown variable 'test_report' (variables of review_task: task, task_source, diff, tests)", lines);
        // Third-party text printed without the untrusted filter is refused, naming the file and line.
        Assert.Contains(lines, l => l.StartsWith($"{FileOf("review_task")}:2: 'task' holds third-party text and must be printed through the untrusted filter", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith($"{FileOf("team_rules")}:3: syntax error", StringComparison.Ordinal));

        // Another directory: --dir; the filter is only reached once the unknown variable is gone.
        var other = Directory.CreateDirectory(Path.Combine(_directory, "other")).FullName;
        await File.WriteAllTextAsync(Path.Combine(other, "review_task.liquid"), "{{ task | untrusted }}\n{{ diff | no_such_filter | untrusted }}", TestContext.Current.CancellationToken);
        var elsewhere = await DevorchAsync("prompts", "validate", "--dir", other);
        Assert.Equal(1, elsewhere.ExitCode);
        Assert.StartsWith($"{Path.Combine(other, "review_task.liquid")}:2: Undefined filter 'no_such_filter'", elsewhere.Stdout, StringComparison.Ordinal);
        var missing = await DevorchAsync("prompts", "validate", "--dir", Path.Combine(_directory, "missing"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("--dir", missing.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_refuses_to_start_with_an_invalid_template_naming_the_file_line_and_variable()
    {
        await File.WriteAllTextAsync(FileOf("development_task"), "Task:\n{{ task }}\nFor {{ user.email }}\n", TestContext.Current.CancellationToken);

        var serve = await DevorchAsync("serve", "--urls", "http://127.0.0.1:0");

        Assert.Equal(2, serve.ExitCode);
        Assert.Contains($"PROMPTS_DIR: {FileOf("development_task")}:3: unknown variable 'user' (variables of development_task: task, task_source)", serve.Stderr, StringComparison.Ordinal);
        Assert.Contains($"PROMPTS_DIR: {FileOf("development_task")}:2: 'task' holds third-party text and must be printed through the untrusted filter", serve.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", serve.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Workflows_validate_checks_that_a_prompt_template_names_a_step_instruction_template()
    {
        await File.WriteAllTextAsync(FileOf("team_rules"), "Follow the team's rules.\n", TestContext.Current.CancellationToken);
        var workflow = Path.Combine(_directory, "flow.yaml");
        async Task<(int ExitCode, string Stdout, string Stderr)> ValidateAsync(string agent, string template)
        {
            await File.WriteAllTextAsync(workflow, $"""
                name: team_flow
                steps:
                  - name: prepare
                    type: plugin_action
                    plugin: workspace
                    action: prepare
                  - name: implement
                    type: ai_action
                    agent: {agent}
                    prompt_template: {template}
                """, TestContext.Current.CancellationToken);
            return await DevorchAsync("workflows", "validate", workflow);
        }

        var good = await ValidateAsync("development", "team_rules");
        Assert.True(good.ExitCode == 0, good.Stdout + good.Stderr);
        Assert.True((await ValidateAsync("development", "hotfix_instructions")).ExitCode == 0);

        var unknown = await ValidateAsync("development", "team_rulez");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains($"{workflow}:7:", unknown.Stdout, StringComparison.Ordinal);
        Assert.Contains($"prompt_template 'team_rulez' is not a step instruction template: add {FileOf("team_rulez")}", unknown.Stdout, StringComparison.Ordinal);
        Assert.Contains("team_rules", unknown.Stdout, StringComparison.Ordinal);

        var agentPrompt = await ValidateAsync("development", "review_system");
        Assert.Equal(1, agentPrompt.ExitCode);
        Assert.Contains("prompt_template 'review_system' is not a step instruction template", agentPrompt.Stdout, StringComparison.Ordinal);

        var review = await ValidateAsync("review", "team_rules");
        Assert.Equal(1, review.ExitCode);
        Assert.Contains("prompt_template applies to agent: development only", review.Stdout, StringComparison.Ordinal);
    }
}
