using System.Text.Json;
using DevOrchestrator.Features.Agents;
using DevOrchestrator.Features.Costs;
using Microsoft.Extensions.AI;

namespace DevOrchestrator.UnitTests.Agents;

public sealed class ModelUsageTests
{
    // The SDK's message type has many required members; it is built the way the SDK builds it, from the API's JSON.
    private static Anthropic.Models.Messages.Message AnthropicMessage(string usage) =>
        JsonSerializer.Deserialize<Anthropic.Models.Messages.Message>($$"""
            {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
             "content": [{"type": "text", "text": "done"}], "stop_reason": "end_turn", "stop_sequence": null,
             "usage": {{usage}}}
            """)!;

    [Fact]
    public void Anthropic_usage_is_read_from_the_raw_message_with_cache_writes_and_reads_apart()
    {
        var response = new ChatResponse(new ChatMessage(ChatRole.Assistant, "done"))
        {
            RawRepresentation = AnthropicMessage("""{"input_tokens": 1200, "output_tokens": 350, "cache_creation_input_tokens": 5000, "cache_read_input_tokens": 42000}"""),
            // What M.E.AI reports may lump the cached tokens in; the raw message is the truth.
            Usage = new UsageDetails { InputTokenCount = 48_200, OutputTokenCount = 350, CachedInputTokenCount = 42_000 },
        };

        var usage = ModelUsage.Read(response);

        Assert.Equal(new TokenUsage(1200, 350, 5000, 42_000), usage);
        Assert.Equal(48_550, usage.Total);
    }

    [Fact]
    public void Anthropic_usage_without_cache_fields_has_no_cache_tokens()
    {
        var response = new ChatResponse(new ChatMessage(ChatRole.Assistant, "done"))
        {
            RawRepresentation = AnthropicMessage("""{"input_tokens": 10, "output_tokens": 3}"""),
        };

        Assert.Equal(new TokenUsage(10, 3, 0, 0), ModelUsage.Read(response));
    }

    [Fact]
    public void Anthropic_usage_priced_is_what_the_call_cost()
    {
        var response = new ChatResponse(new ChatMessage(ChatRole.Assistant, "done"))
        {
            RawRepresentation = AnthropicMessage("""{"input_tokens": 1000, "output_tokens": 500, "cache_creation_input_tokens": 2000, "cache_read_input_tokens": 4000}"""),
        };
        var u = ModelUsage.Read(response);

        Assert.Equal(0.0192m, ModelPrices.BuiltIn["claude-sonnet-4-5"].Cost(u.Input, u.Output, u.CacheWrite, u.CacheRead));
    }

    [Fact]
    public void OpenAI_usage_is_read_from_the_raw_completion_with_cached_input_taken_out()
    {
        // The factory is marked for evaluation (OPENAI001); it is the SDK's own way to build a completion in tests.
#pragma warning disable OPENAI001
        var completion = OpenAI.Chat.OpenAIChatModelFactory.ChatCompletion(
            id: "chatcmpl-1",
            model: "gpt-4.1-2025-04-14",
            usage: OpenAI.Chat.OpenAIChatModelFactory.ChatTokenUsage(
                outputTokenCount: 80,
                inputTokenCount: 2000,
                totalTokenCount: 2080,
                outputTokenDetails: null,
                inputTokenDetails: OpenAI.Chat.OpenAIChatModelFactory.ChatInputTokenUsageDetails(audioTokenCount: 0, cachedTokenCount: 1536)));
#pragma warning restore OPENAI001
        var response = new ChatResponse(new ChatMessage(ChatRole.Assistant, "done")) { RawRepresentation = completion };

        Assert.Equal(new TokenUsage(464, 80, 0, 1536), ModelUsage.Read(response));
    }

    [Fact]
    public void Plain_usage_details_subtract_the_cached_input()
    {
        var response = new ChatResponse(new ChatMessage(ChatRole.Assistant, "done"))
        {
            Usage = new UsageDetails { InputTokenCount = 1000, OutputTokenCount = 50, CachedInputTokenCount = 300, TotalTokenCount = 1050 },
        };

        Assert.Equal(new TokenUsage(700, 50, 0, 300), ModelUsage.Read(response));
    }

    [Fact]
    public void Plain_usage_details_without_cache_information_are_all_input()
    {
        var response = new ChatResponse(new ChatMessage(ChatRole.Assistant, "done"))
        {
            RawRepresentation = new object(),
            Usage = new UsageDetails { InputTokenCount = 1000, OutputTokenCount = 50 },
        };

        Assert.Equal(new TokenUsage(1000, 50, 0, 0), ModelUsage.Read(response));
    }

    [Fact]
    public void Odd_usage_details_never_give_negative_input()
    {
        var response = new ChatResponse(new ChatMessage(ChatRole.Assistant, "done"))
        {
            Usage = new UsageDetails { OutputTokenCount = 7, CachedInputTokenCount = 300 },
        };

        Assert.Equal(new TokenUsage(0, 7, 0, 300), ModelUsage.Read(response));
    }

    [Fact]
    public void No_usage_is_zero() =>
        Assert.Equal(default, ModelUsage.Read(new ChatResponse(new ChatMessage(ChatRole.Assistant, "done"))));
}
