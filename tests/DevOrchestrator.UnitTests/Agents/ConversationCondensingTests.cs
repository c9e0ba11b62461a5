using DevOrchestrator.Features.Agents;
using Microsoft.Extensions.AI;

namespace DevOrchestrator.UnitTests.Agents;

public sealed class ConversationCondensingTests
{
    private const int MaxOutput = 1_000;
    private const int Turns = 10;

    // [0] system, [1] task, then per turn an assistant call and its tool result: results at 3, 5, …, 21.
    // The last eight messages (14..21) are never condensed, so the results at 3..13 may be, at 15..21 may not.
    private static readonly int[] s_condensable = [3, 5, 7, 9, 11, 13];
    private static readonly int[] s_recent = [15, 17, 19, 21];

    private static string Output(int turn) => $"output of turn {turn}: " + string.Concat(Enumerable.Repeat($"line {turn} of a long tool output\n", 100));

    private static List<ChatMessage> Conversation(int turns = Turns, string? smallAt3 = null)
    {
        var messages = new List<ChatMessage>
        {
            new(ChatRole.System, "You are a development agent."),
            new(ChatRole.User, "Fix the failing test."),
        };
        for (var turn = 0; turn < turns; turn++)
        {
            messages.Add(new ChatMessage(ChatRole.Assistant, [new FunctionCallContent($"call{turn}", "read_file", new Dictionary<string, object?> { ["path"] = $"src/File{turn}.cs" })]));
            messages.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent($"call{turn}", turn == 0 && smallAt3 is not null ? smallAt3 : Output(turn))]));
        }

        return messages;
    }

    private static FunctionResultContent ResultAt(List<ChatMessage> messages, int index) =>
        Assert.IsType<FunctionResultContent>(Assert.Single(messages[index].Contents));

    private static bool IsCondensed(List<ChatMessage> messages, int index) =>
        ((string)ResultAt(messages, index).Result!).StartsWith("[condensed]", StringComparison.Ordinal);

    /// <summary>The context window whose condensing budget, 60% of the window less the output allowance, is <paramref name="budget"/> tokens.</summary>
    private static int WindowFor(long budget) => (int)Math.Ceiling(budget / 0.6) + MaxOutput;

    [Fact]
    public void Below_the_threshold_nothing_changes()
    {
        var messages = Conversation();
        var before = messages.Select(m => m.Contents.Single()).ToList();
        var estimate = TokenEstimate.Of(messages, null);

        var condensed = DevelopmentAgent.Condense(messages, WindowFor(estimate + 1), MaxOutput);

        Assert.Equal(0, condensed);
        Assert.Equal(before, messages.Select(m => m.Contents.Single()));
        Assert.Equal(estimate, TokenEstimate.Of(messages, null));
    }

    [Fact]
    public void Above_it_old_large_results_become_notes_oldest_first_and_it_stops_once_under_budget()
    {
        var messages = Conversation();
        var estimate = TokenEstimate.Of(messages, null);
        var saved = (Output(0).Length - 400) / 3;

        // A budget that two condensed outputs cannot reach but three can.
        var budget = estimate - (saved * 5 / 2);
        var condensed = DevelopmentAgent.Condense(messages, WindowFor(budget), MaxOutput);

        Assert.Equal(3, condensed);
        Assert.True(IsCondensed(messages, 3) && IsCondensed(messages, 5) && IsCondensed(messages, 7));
        Assert.All(new[] { 9, 11, 13 }.Concat(s_recent), i => Assert.False(IsCondensed(messages, i), $"message {i}"));
        Assert.True(TokenEstimate.Of(messages, null) <= budget + 1);
    }

    [Fact]
    public void A_condensed_result_keeps_its_call_id_its_size_and_its_beginning()
    {
        var messages = Conversation();

        DevelopmentAgent.Condense(messages, WindowFor(10), MaxOutput);

        var result = ResultAt(messages, 3);
        var note = Assert.IsType<string>(result.Result);
        Assert.Equal("call0", result.CallId);
        Assert.StartsWith("[condensed]", note, StringComparison.Ordinal);
        Assert.Contains($"({Output(0).Length:N0} characters)", note, StringComparison.Ordinal);
        Assert.Contains("run the tool again", note, StringComparison.Ordinal);
        Assert.EndsWith(Output(0)[..200], note, StringComparison.Ordinal);
        Assert.True(note.Length < 500);
    }

    [Fact]
    public void Recent_messages_small_results_and_other_contents_are_never_condensed()
    {
        const string small = "3 files changed";
        var messages = Conversation(smallAt3: small);
        var calls = messages.Where(m => m.Role == ChatRole.Assistant).Select(m => m.Contents.Single()).ToList();

        // However small the window: only the old, large tool results can go.
        var condensed = DevelopmentAgent.Condense(messages, WindowFor(10), MaxOutput);

        Assert.Equal(s_condensable.Length - 1, condensed);
        Assert.Equal(small, ResultAt(messages, 3).Result);
        Assert.All(s_condensable.Skip(1), i => Assert.True(IsCondensed(messages, i), $"message {i}"));
        Assert.All(s_recent, i => Assert.Equal(Output((i - 3) / 2), ResultAt(messages, i).Result));
        Assert.Equal(calls, messages.Where(m => m.Role == ChatRole.Assistant).Select(m => m.Contents.Single()));
        Assert.Equal("You are a development agent.", messages[0].Text);
        Assert.Equal("Fix the failing test.", messages[1].Text);
    }

    [Fact]
    public void Condensing_again_does_not_condense_the_notes()
    {
        var messages = Conversation();
        Assert.Equal(s_condensable.Length, DevelopmentAgent.Condense(messages, WindowFor(10), MaxOutput));
        var notes = s_condensable.Select(i => ResultAt(messages, i).Result).ToList();

        Assert.Equal(0, DevelopmentAgent.Condense(messages, WindowFor(10), MaxOutput));
        Assert.Equal(notes, s_condensable.Select(i => ResultAt(messages, i).Result));
    }

    [Fact]
    public void A_short_conversation_has_nothing_old_enough_to_condense()
    {
        var messages = Conversation(turns: 3);
        var before = messages.Select(m => m.Contents.Single()).ToList();

        Assert.Equal(0, DevelopmentAgent.Condense(messages, WindowFor(10), MaxOutput));
        Assert.Equal(before, messages.Select(m => m.Contents.Single()));
    }
}
