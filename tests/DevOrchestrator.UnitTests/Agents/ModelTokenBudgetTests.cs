using DevOrchestrator.Features.Agents;
using DevOrchestrator.Hosting;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.UnitTests.Agents;

/// <summary><c>MODEL_TOKENS_PER_MINUTE</c> in one process (no Redis): the usage of a response holds the next call.</summary>
public sealed class ModelTokenBudgetTests
{
    private static ModelResilience Resilience(int tokensPerMinute) => new(
        Options.Create(new ModelOptions { ModelRetryAttempts = 0, ModelTokensPerMinute = tokensPerMinute }),
        Options.Create(new ResilienceOptions()),
        TimeProvider.System);

    private static ChatResponse Used(long tokens) =>
        new(new ChatMessage(ChatRole.Assistant, "done")) { Usage = new UsageDetails { TotalTokenCount = tokens } };

    [Fact]
    public async Task A_response_that_spent_more_than_a_minutes_worth_holds_the_next_call()
    {
        var ct = TestContext.Current.CancellationToken;
        var resilience = Resilience(600);
        var spent = Used(1200);
        await resilience.For("anthropic").ExecuteAsync(_ => ValueTask.FromResult(spent), ct);

        using var giveUp = CancellationTokenSource.CreateLinkedTokenSource(ct);
        giveUp.CancelAfter(TimeSpan.FromSeconds(1));
        var called = false;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await resilience.For("anthropic").ExecuteAsync(_ =>
        {
            called = true;
            return ValueTask.FromResult(1);
        }, giveUp.Token));

        Assert.False(called);
    }

    [Fact]
    public async Task Within_a_minutes_worth_calls_go_at_once_and_zero_is_no_limit()
    {
        var ct = TestContext.Current.CancellationToken;
        var limited = Resilience(600);
        var unlimited = Resilience(0);
        var spent = Used(300);

        for (var i = 0; i < 2; i++)
        {
            Assert.Same(spent, await limited.For("anthropic").ExecuteAsync(_ => ValueTask.FromResult(spent), ct));
        }

        var huge = Used(1_000_000);
        for (var i = 0; i < 3; i++)
        {
            Assert.Same(huge, await unlimited.For("anthropic").ExecuteAsync(_ => ValueTask.FromResult(huge), ct));
        }
    }
}
