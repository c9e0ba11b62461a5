using System.Net;
using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Features.Agents;
using DevOrchestrator.Features.Plugins;
using DevOrchestrator.Hosting;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;

namespace DevOrchestrator.IntegrationTests.Agents;

/// <summary>
/// The model provider's circuit and request rate shared through a real Redis: two <see cref="ModelResilience"/>s, each
/// with its own connection, stand for two processes. The provider's answer is an HTTP 500 (what the SDKs' transport
/// surfaces as an <see cref="HttpRequestException"/> with its status).
/// </summary>
public sealed class SharedModelResilienceTests
{
    private sealed class Replica(string url, string prefix, int tokensPerMinute = 0) : IAsyncDisposable
    {
        public RedisConnection Connection { get; } = new(url, prefix);

        public RedisResilienceState Store => field ??=
            new RedisResilienceState(Connection, TimeProvider.System, NullLogger<RedisResilienceState>.Instance);

        public ModelResilience Resilience => field ??= new ModelResilience(
            Options.Create(new ModelOptions { ModelRetryAttempts = 0, ModelRequestsPerSecond = 5, ModelTokensPerMinute = tokensPerMinute }),
            Options.Create(new ResilienceOptions { CircuitBreakerThreshold = 2 }),
            TimeProvider.System,
            new PluginResilienceState(new PluginResilienceOptions(), TimeProvider.System, null, Store));

        public ValueTask DisposeAsync() => Connection.DisposeAsync();
    }

    [Fact]
    public async Task A_providers_circuit_opened_by_one_process_refuses_calls_in_the_other_without_calling_the_provider()
    {
        var ct = TestContext.Current.CancellationToken;
        var url = await TestDatabases.RequireRedisAsync();
        var prefix = "devorch-test-" + Guid.NewGuid().ToString("N")[..12] + ":";
        await using var one = new Replica(url, prefix);
        await using var two = new Replica(url, prefix);
        var calls = 0;

        for (var i = 0; i < 2; i++)
        {
            await Assert.ThrowsAsync<HttpRequestException>(async () => await one.Resilience.For("anthropic").ExecuteAsync<string>(_ =>
            {
                Interlocked.Increment(ref calls);
                throw new HttpRequestException("overloaded", null, HttpStatusCode.InternalServerError);
            }, ct));
        }

        var refused = await Assert.ThrowsAsync<BrokenCircuitException>(async () => await two.Resilience.For("anthropic").ExecuteAsync(_ =>
        {
            Interlocked.Increment(ref calls);
            return ValueTask.FromResult("answer");
        }, ct));

        Assert.Equal(2, calls);
        Assert.Contains("circuit", refused.Message, StringComparison.Ordinal);
        // Another provider's circuit is its own.
        Assert.Equal("answer", await two.Resilience.For("openai").ExecuteAsync(_ => ValueTask.FromResult("answer"), ct));
    }

    [Fact]
    public async Task The_providers_request_rate_is_a_budget_of_both_processes()
    {
        var ct = TestContext.Current.CancellationToken;
        var url = await TestDatabases.RequireRedisAsync();
        var prefix = "devorch-test-" + Guid.NewGuid().ToString("N")[..12] + ":";
        await using var one = new Replica(url, prefix);
        await using var two = new Replica(url, prefix);

        // 20 calls at MODEL_REQUESTS_PER_SECOND=5 (burst 5) from two processes: the last no earlier than 3 s after the
        // start; per-process buckets would have let both halves through in 1 s.
        var started = DateTimeOffset.UtcNow;
        await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            (i % 2 == 0 ? one : two).Resilience.For("anthropic").ExecuteAsync(_ => ValueTask.FromResult(i), ct).AsTask()));

        Assert.True(DateTimeOffset.UtcNow - started >= TimeSpan.FromSeconds(2.9), $"20 calls in {(DateTimeOffset.UtcNow - started).TotalSeconds:F2}s");
    }

    [Fact]
    public async Task Tokens_spent_by_one_process_hold_the_next_call_of_the_other_until_the_budget_allows()
    {
        var ct = TestContext.Current.CancellationToken;
        var url = await TestDatabases.RequireRedisAsync();
        var prefix = "devorch-test-" + Guid.NewGuid().ToString("N")[..12] + ":";
        await using var one = new Replica(url, prefix, tokensPerMinute: 600);
        await using var two = new Replica(url, prefix, tokensPerMinute: 600);

        // A response that used two minutes' worth of the budget (1,200 tokens of 600 a minute).
        var response = new ChatResponse(new Microsoft.Extensions.AI.ChatMessage(ChatRole.Assistant, "done"))
        {
            Usage = new UsageDetails { InputTokenCount = 1000, OutputTokenCount = 200, TotalTokenCount = 1200 },
        };
        Assert.Same(response, await one.Resilience.For("anthropic").ExecuteAsync(_ => ValueTask.FromResult(response), ct));

        Assert.InRange(await two.Store.SpendableInAsync(ModelResilience.SharedName("anthropic"), 600, ct), TimeSpan.FromSeconds(50), TimeSpan.FromSeconds(60));
        using var giveUp = CancellationTokenSource.CreateLinkedTokenSource(ct);
        giveUp.CancelAfter(TimeSpan.FromSeconds(1));
        var called = false;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await two.Resilience.For("anthropic").ExecuteAsync(_ =>
        {
            called = true;
            return ValueTask.FromResult(1);
        }, giveUp.Token));
        Assert.False(called); // held by the budget the other process spent, not sent
        Assert.Equal(1, await two.Resilience.For("openai").ExecuteAsync(_ => ValueTask.FromResult(1), ct)); // another provider's budget
    }
}
