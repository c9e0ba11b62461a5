using DevOrchestrator.Data;
using DevOrchestrator.Features.Tasks;

namespace DevOrchestrator.UnitTests.Tasks;

public sealed class TaskTransitionsTests
{
    [Theory]
    [InlineData(null, "pending", TaskTransitions.Cause.Created)]
    [InlineData(null, "queued", TaskTransitions.Cause.Created)]
    [InlineData("pending", "queued", TaskTransitions.Cause.Queued)]
    [InlineData("failed", "queued", TaskTransitions.Cause.Queued)]
    [InlineData("queued", "running", TaskTransitions.Cause.Claimed)]
    [InlineData("running", "running", TaskTransitions.Cause.Claimed)]
    [InlineData("running", "queued", TaskTransitions.Cause.HandedBack)]
    [InlineData("running", "budget_exceeded", TaskTransitions.Cause.Finished)]
    [InlineData("queued", "cancelled", TaskTransitions.Cause.Cancelled)]
    public void Allowed_transitions_pass(string? from, string to, TaskTransitions.Cause cause) =>
        TaskTransitions.Check(from, to, cause);

    [Theory]
    [InlineData("completed", "running", TaskTransitions.Cause.Claimed)]
    [InlineData("pending", "running", TaskTransitions.Cause.Claimed)]
    [InlineData("queued", "completed", TaskTransitions.Cause.Finished)]
    [InlineData("cancelled", "cancelled", TaskTransitions.Cause.Cancelled)]
    [InlineData("running", "queued", TaskTransitions.Cause.Queued)]
    [InlineData(null, "running", TaskTransitions.Cause.Created)]
    public void Other_transitions_are_refused_with_a_message_naming_them(string? from, string to, TaskTransitions.Cause cause)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => TaskTransitions.Check(from, to, cause));
        Assert.Contains(to, ex.Message);
    }

    [Fact]
    public void Every_status_is_reachable_and_every_unfinished_status_has_a_way_out()
    {
        var reachable = TaskTransitions.Allowed.Select(t => t.To).ToHashSet();
        Assert.All(TaskStatuses.All, s => Assert.Contains(s, reachable));
        var leaving = TaskTransitions.Allowed.Where(t => t.From is not null && t.From != t.To).Select(t => t.From!).ToHashSet();
        Assert.All(TaskStatuses.All.Where(s => !TaskStatuses.IsFinished(s)), s => Assert.Contains(s, leaving));
    }
}
