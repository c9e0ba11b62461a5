using DevOrchestrator.Abstractions;
using DevOrchestrator.Features.Workflows;
using DevOrchestrator.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.UnitTests.Workflows;

/// <summary>
/// Every boolean and number input of every built-in step, as the service registers them: YAML's typed values are
/// read as types when the workflow is loaded (<c>draft: true</c> is true, <c>thread: false</c> is false), wrong types
/// are load-time errors at the value's line, and values that came through a reference are read the same way at run time.
/// </summary>
public sealed class WorkflowInputTypeTests
{
    private static readonly ServiceProvider s_services = Cli.WorkflowsValidateCommand.ValidationServices(new DevOrchestratorOptions()).BuildServiceProvider();

    /// <summary>(step header lines, input, type) for every typed input the registered actions and step types declare.</summary>
    public static TheoryData<string, string, string, WorkflowInputType> TypedInputs()
    {
        var data = new TheoryData<string, string, string, WorkflowInputType>();
        foreach (var plugin in s_services.GetServices<IWorkflowActions>())
        {
            foreach (var (action, descriptor) in plugin.Actions)
            {
                var required = string.Concat(descriptor.RequiredInputs.Where(r => !descriptor.InputTypes.ContainsKey(r)).Select(r => $"\n      {r}: x"));
                foreach (var (input, type) in descriptor.InputTypes)
                {
                    data.Add($"plugin: {plugin.Plugin}\n    action: {action}", required, input, type);
                }
            }
        }

        foreach (var handler in s_services.GetServices<IWorkflowStepHandler>())
        {
            foreach (var (input, type) in handler.InputTypes)
            {
                data.Add($"type: {handler.Type}\n    agent: development", "", input, type);
            }
        }

        return data;
    }

    [Fact]
    public void The_typed_inputs_are_the_known_booleans_and_numbers()
    {
        var typed = TypedInputs().Select(row => $"{row.Data.Item3}:{row.Data.Item4}").Order(StringComparer.Ordinal);

        Assert.Equal(
            ["allow_failure:Boolean", "attempts:WholeNumber", "continue_branch:Boolean", "draft:Boolean", "max_turns:PositiveNumber", "number:PositiveNumber", "setup:Boolean", "thread:Boolean", "timeout_seconds:PositiveNumber"],
            typed);
    }

    [Theory]
    [MemberData(nameof(TypedInputs))]
    public void A_typed_literal_is_read_as_its_type(string header, string required, string input, WorkflowInputType type)
    {
        var (literal, expected) = type == WorkflowInputType.Boolean ? ("false", (object)false) : ("7", 7L);

        var result = Validator().Parse(Workflow(header, required, $"{input}: {literal}"), "typed.yaml");

        Assert.Empty(result.Errors);
        Assert.Equal(expected, result.Definition!.Steps[0].Inputs[input]);
    }

    [Theory]
    [MemberData(nameof(TypedInputs))]
    public void A_wrong_literal_is_an_error_at_its_value_naming_the_input(string header, string required, string input, WorkflowInputType type)
    {
        var wrong = type == WorkflowInputType.Boolean ? ["yes", "'maybe'", "1", "[true]"] : new[] { "-1", "1.5", "many", "true", "99999999999999999999" };
        foreach (var literal in wrong)
        {
            var yaml = Workflow(header, required, $"{input}: {literal}");

            var error = Assert.Single(Validator().Validate(yaml, "typed.yaml"));

            Assert.Contains($"input '{input}' must be", error.Message, StringComparison.Ordinal);
            Assert.Equal(yaml.Split('\n').ToList().FindIndex(l => l.TrimStart().StartsWith(input + ":", StringComparison.Ordinal)) + 1, error.Line);
        }
    }

    [Theory]
    [MemberData(nameof(TypedInputs))]
    public void A_reference_is_checked_when_the_step_runs(string header, string required, string input, WorkflowInputType type)
    {
        Assert.Empty(Validator().Validate(Workflow(header, required, $"{input}: \"${{variables.{input}}}\""), "typed.yaml"));
        _ = type;
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData("true", true)]
    [InlineData("False", false)]
    [InlineData(" false ", false)]
    public void A_boolean_from_a_reference_is_read_as_a_boolean(object value, bool expected)
    {
        Assert.Equal(expected, Context(("thread", value)).GetBoolean("thread", absent: !expected));
    }

    [Fact]
    public void An_absent_or_null_boolean_is_the_default_and_a_wrong_one_an_error_naming_it()
    {
        Assert.True(Context().GetBoolean("thread", absent: true));
        Assert.False(Context(("draft", null)).GetBoolean("draft", absent: false));
        var ex = Assert.Throws<WorkflowActionException>(() => Context(("draft", "yes")).GetBoolean("draft", absent: false));
        Assert.Equal("input 'draft' must be true or false (got 'yes')", ex.Message);
    }

    [Theory]
    [InlineData(30L, WorkflowInputType.PositiveNumber, 30L)]
    [InlineData("30", WorkflowInputType.PositiveNumber, 30L)]
    [InlineData("0", WorkflowInputType.WholeNumber, 0L)]
    [InlineData("", WorkflowInputType.WholeNumber, null)]
    public void A_number_from_a_reference_is_read_as_a_number(object value, WorkflowInputType type, long? expected)
    {
        Assert.Equal(expected, Context(("n", value)).GetNumber("n", type));
    }

    [Theory]
    [InlineData("0", WorkflowInputType.PositiveNumber, "input 'n' must be a whole number, 1 or more (got '0')")]
    [InlineData(-3L, WorkflowInputType.WholeNumber, "input 'n' must be a whole number, 0 or more (got -3)")]
    [InlineData(2.5, WorkflowInputType.WholeNumber, "input 'n' must be a whole number, 0 or more (got 2.5)")]
    [InlineData(true, WorkflowInputType.PositiveNumber, "input 'n' must be a whole number, 1 or more (got true)")]
    public void A_wrong_number_is_an_error_naming_the_input(object value, WorkflowInputType type, string message)
    {
        Assert.Equal(message, Assert.Throws<WorkflowActionException>(() => Context(("n", value)).GetNumber("n", type)).Message);
    }

    [Fact]
    public void Text_of_a_typed_value_is_written_as_in_yaml()
    {
        var context = Context(("draft", true), ("ratio", 1.5), ("count", 12L));

        Assert.Equal("true", context.GetString("draft"));
        Assert.Equal("1.5", context.GetString("ratio"));
        Assert.Equal("12", context.GetString("count"));
    }

    private static WorkflowValidator Validator() => s_services.GetRequiredService<WorkflowValidator>();

    private static string Workflow(string header, string required, string typedLine) =>
        $"name: typed\nsteps:\n  - name: s\n    {header}\n    inputs:{required}\n      {typedLine}\n";

    private static WorkflowActionContext Context(params (string Name, object? Value)[] inputs) => new()
    {
        Task = new WorkflowTaskInfo(1, "t", null, null, "api", null),
        WorkflowExecutionId = 1,
        StepName = "s",
        Inputs = inputs.ToDictionary(i => i.Name, i => i.Value),
        StepOutputs = new Dictionary<string, IReadOnlyDictionary<string, object?>>(),
    };
}
