using DevOrchestrator.Features.Workflows;

namespace DevOrchestrator.UnitTests.Workflows;

public sealed class WhenExpressionTests
{
    private static readonly Dictionary<string, object?> s_values = new()
    {
        ["steps.commit.committed"] = true,
        ["steps.commit.files_changed"] = 3L,
        ["project.test_command"] = "npm test",
        ["project.empty"] = "",
        ["variables.flag"] = "false",
        ["variables.zero"] = 0L,
        ["variables.none"] = null,
        ["variables.name"] = "it's",
    };

    private static bool Eval(string text) =>
        WhenExpression.Parse(text).Evaluate(r => s_values.TryGetValue(r.ToString()[2..^1], out var v) ? v : null);

    [Theory]
    [InlineData("${steps.commit.committed} == true", true)]
    [InlineData("${steps.commit.committed} != true", false)]
    [InlineData("${steps.commit.committed}", true)]
    [InlineData("${project.test_command} != ''", true)]
    [InlineData("${project.empty} != ''", false)]
    [InlineData("${project.empty}", false)]
    [InlineData("${variables.flag}", false)]
    [InlineData("${variables.zero}", false)]
    [InlineData("${variables.none}", false)]
    [InlineData("${variables.unknown} == ''", true)]
    [InlineData("${variables.none} == null", true)]
    [InlineData("${steps.commit.files_changed} == 3", true)]
    [InlineData("${steps.commit.files_changed} == 3.0", true)]
    [InlineData("${steps.commit.files_changed} == '3'", true)]
    [InlineData("not ${steps.commit.committed}", false)]
    [InlineData("not not ${steps.commit.committed}", true)]
    [InlineData("${project.empty} or ${steps.commit.committed}", true)]
    [InlineData("${project.empty} and ${steps.commit.committed}", false)]
    [InlineData("true or false and false", true)]
    [InlineData("(true or false) and false", false)]
    [InlineData("not (${variables.flag} == 'false')", false)]
    [InlineData("${variables.name} == \"it's\"", true)]
    [InlineData("'a' == 'A'", false)]
    [InlineData("1", true)]
    [InlineData("0", false)]
    public void Evaluates(string expression, bool expected) => Assert.Equal(expected, Eval(expression));

    [Theory]
    [InlineData("${a.b} ==")]
    [InlineData("(true")]
    [InlineData("true)")]
    [InlineData("npm test")]
    [InlineData("'unclosed")]
    [InlineData("${unclosed")]
    [InlineData("a = b")]
    [InlineData("")]
    [InlineData("${bad ref}")]
    public void RejectsMalformedExpressions(string expression) =>
        Assert.Throws<FormatException>(() => WhenExpression.Parse(expression));

    [Fact]
    public void ListsItsReferences()
    {
        var expression = WhenExpression.Parse("${steps.a.x} == 1 and not ${project.name}");
        Assert.Equal(["${steps.a.x}", "${project.name}"], expression.References.Select(r => r.ToString()));
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("FALSE", false)]
    [InlineData("0", false)]
    [InlineData("no", true)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(0L, false)]
    [InlineData(2L, true)]
    public void Truthiness(object? value, bool expected) => Assert.Equal(expected, WhenExpression.IsTruthy(value));
}
