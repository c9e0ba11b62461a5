using DevOrchestrator.Data;
using DevOrchestrator.Features.Agents;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.IntegrationTests.Agents;

/// <summary>The checkpoint store on the real database: saves that race for one conversation.</summary>
public sealed class AgentCheckpointsTests
{
    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task First_saves_of_one_conversation_that_race_leave_one_row_and_fail_none(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        var (taskId, executionId) = await service.WithDbAsync(async d =>
        {
            var task = new DevTask { Title = "Checkpoint race" };
            d.Tasks.Add(task);
            await d.SaveChangesAsync(ct);
            var execution = new WorkflowExecution { TaskId = task.Id, WorkflowName = "standard_workflow" };
            d.WorkflowExecutions.Add(execution);
            await d.SaveChangesAsync(ct);
            return (task.Id, execution.Id);
        });
        var checkpoints = service.Services.GetRequiredService<AgentCheckpoints>();

        const int conversations = 10, writers = 8;
        for (var c = 0; c < conversations; c++)
        {
            var conversation = $"implement-{c}";
            // Every writer starts from "no row yet"; without the retry the losers of the insert fail with a unique-key violation.
            await Task.WhenAll(Enumerable.Range(1, writers).Select(turn => Task.Run(
                () => checkpoints.SaveAsync(taskId, executionId, conversation, turn, [new ChatMessage(ChatRole.User, $"turn {turn}")], new AgentLoopState(), null, null, ct), ct)));
        }

        var rows = await service.WithDbAsync(d => d.AgentCheckpoints.AsNoTracking().Where(r => r.WorkflowExecutionId == executionId).ToListAsync(ct));
        Assert.Equal(conversations, rows.Count);
        Assert.All(rows, r => Assert.InRange(r.Turn, 1, writers));
        var latest = await checkpoints.LoadAsync(executionId, "implement-0", ct);
        Assert.NotNull(latest);
        Assert.Equal($"turn {latest.Turn}", Assert.Single(latest.Messages).Text);
    }
}
