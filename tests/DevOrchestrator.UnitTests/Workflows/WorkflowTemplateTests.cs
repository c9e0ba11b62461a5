using DevOrchestrator.Abstractions;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Workflows;

namespace DevOrchestrator.UnitTests.Workflows;

public sealed class WorkflowTemplateTests
{
    private static readonly WorkflowScope s_scope = new()
    {
        Variables = new Dictionary<string, object?> { ["count"] = 3L, ["name"] = "x", ["nested"] = new Dictionary<string, object?> { ["deep"] = "yes" } },
        Task = new WorkflowTaskInfo(42, "Fix the bug", "desc", null, "api", "GH-1"),
        Project = new WorkflowProjectInfo(7, "demo", "/repos/demo", "main", "make test"),
        Steps = new Dictionary<string, WorkflowStepState>
        {
            ["commit"] = new(StepStatuses.Completed, new Dictionary<string, object?> { ["committed"] = true, ["commit_sha"] = "abc" }),
            ["tests"] = new(StepStatuses.Skipped, new Dictionary<string, object?>()),
        },
    };

    [Fact]
    public void AStringThatIsOneReferenceKeepsTheValuesType()
    {
        Assert.Equal(true, WorkflowTemplate.ResolveString("${steps.commit.committed}", s_scope));
        Assert.Equal(3L, WorkflowTemplate.ResolveString("${variables.count}", s_scope));
        Assert.Equal(42L, WorkflowTemplate.ResolveString("${ task.id }", s_scope));
        Assert.Null(WorkflowTemplate.ResolveString("${task.branch}", s_scope));
    }

    [Fact]
    public void OtherStringsAreInterpolatedAsText()
    {
        Assert.Equal("DevOrchestrator: Fix the bug (#42)", WorkflowTemplate.ResolveString("DevOrchestrator: ${task.title} (#${task.id})", s_scope));
        Assert.Equal("committed=true sha=abc", WorkflowTemplate.ResolveString("committed=${steps.commit.committed} sha=${steps.commit.commit_sha}", s_scope));
        Assert.Equal("run make test on main", WorkflowTemplate.ResolveString("run ${project.test_command} on ${project.default_branch}", s_scope));
        Assert.Equal("no refs here", WorkflowTemplate.ResolveString("no refs here", s_scope));
    }

    [Fact]
    public void StepStatusAndNestedValuesResolve()
    {
        Assert.Equal("skipped", WorkflowTemplate.ResolveString("${steps.tests.status}", s_scope));
        Assert.Equal("completed", WorkflowTemplate.ResolveString("${steps.commit.status}", s_scope));
        Assert.Equal("yes", WorkflowTemplate.ResolveString("${variables.nested.deep}", s_scope));
    }

    [Fact]
    public void UnknownReferencesResolveToEmpty()
    {
        Assert.Null(WorkflowTemplate.ResolveString("${variables.missing}", s_scope));
        Assert.Null(WorkflowTemplate.ResolveString("${steps.nope.x}", s_scope));
        Assert.Equal("[]", WorkflowTemplate.ResolveString("[${variables.missing}]", s_scope));
    }

    [Fact]
    public void ResolvesMapsAndListsRecursively()
    {
        var inputs = new Dictionary<string, object?>
        {
            ["message"] = "${task.title}",
            ["list"] = new List<object?> { "${variables.name}", 5L },
            ["timeout_seconds"] = 60L,
        };
        var resolved = Assert.IsType<Dictionary<string, object?>>(WorkflowTemplate.Resolve(inputs, s_scope));
        Assert.Equal("Fix the bug", resolved["message"]);
        Assert.Equal(new List<object?> { "x", 5L }, resolved["list"]);
        Assert.Equal(60L, resolved["timeout_seconds"]);
    }

    [Theory]
    [InlineData("${unclosed")]
    [InlineData("${}")]
    [InlineData("${a b}")]
    [InlineData("${.x}")]
    public void MalformedReferencesAreErrors(string text) => Assert.Throws<FormatException>(() => WorkflowTemplate.Parse(text));

    [Theory]
    [InlineData("${variables.anything}", 1, null)]
    [InlineData("${task.title}", 1, null)]
    [InlineData("${task.nope}", 1, "unknown reference ${task.nope}")]
    [InlineData("${project.repository_url}", 1, null)]
    [InlineData("${project.secret}", 1, "unknown reference ${project.secret}")]
    [InlineData("${env.HOME}", 1, "unknown reference root")]
    [InlineData("${steps.prepare.branch}", 1, null)]
    [InlineData("${steps.push.pushed}", 1, "uses step 'push' before it runs")]
    [InlineData("${steps.commit.sha}", 1, "uses step 'commit' before it runs")]
    [InlineData("${steps.ghost.x}", 1, "unknown step 'ghost'")]
    public void StaticChecks(string text, int stepIndex, string? expected)
    {
        var reference = WorkflowTemplate.Parse(text).Single().Reference!;
        var problem = WorkflowTemplate.Check(reference, ["prepare", "commit", "push"], stepIndex);
        if (expected is null)
        {
            Assert.Null(problem);
        }
        else
        {
            Assert.NotNull(problem);
            Assert.Contains(expected, problem, StringComparison.Ordinal);
        }
    }
}
