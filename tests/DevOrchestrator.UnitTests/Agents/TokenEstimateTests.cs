using DevOrchestrator.Features.Agents;
using Microsoft.Extensions.AI;
using Microsoft.ML.Tokenizers;

namespace DevOrchestrator.UnitTests.Agents;

public sealed class TokenEstimateTests
{
    private const string English = """
        The service receives development tasks from its REST API and from the command line, stores each of them in the
        database before anything else happens, and hands them to workers that run one workflow per task. A workflow is a
        list of steps written in YAML: it prepares a fresh git worktree, lets an agent change the code, runs the tests,
        asks a reviewer for a verdict and finally commits the result and pushes a branch. Every step is streamed as an
        event, so that a person watching the task sees what happens while it happens, and every model call is metered:
        the tokens it used and what they cost are written to a ledger, and a call that could break the task's or the
        month's budget is refused before it is made. When a worker dies in the middle of a task, another one notices the
        expired lease, claims the task again and resumes it at its last checkpoint, so that no finished call is paid twice.
        """;

    private const string CSharp = """
        using System.Collections.Concurrent;

        namespace Example.Billing;

        /// <summary>Keeps the running total of every customer's invoices and refuses charges over the limit.</summary>
        public sealed class InvoiceLedger(ILogger<InvoiceLedger> logger, TimeProvider timeProvider)
        {
            private readonly ConcurrentDictionary<long, decimal> _totals = new();

            public decimal Limit { get; init; } = 1_000m;

            public async Task<bool> TryChargeAsync(long customerId, decimal amount, CancellationToken cancellationToken)
            {
                ArgumentOutOfRangeException.ThrowIfNegative(amount);
                await Task.Yield();
                cancellationToken.ThrowIfCancellationRequested();
                while (true)
                {
                    var current = _totals.GetOrAdd(customerId, 0m);
                    if (current + amount > Limit)
                    {
                        logger.LogWarning("Customer {CustomerId} would exceed the limit at {Time}", customerId, timeProvider.GetUtcNow());
                        return false;
                    }

                    if (_totals.TryUpdate(customerId, current + amount, current))
                    {
                        return true;
                    }
                }
            }

            public IReadOnlyList<(long Customer, decimal Total)> Largest(int count) =>
                _totals.OrderByDescending(kv => kv.Value).Take(count).Select(kv => (kv.Key, kv.Value)).ToList();
        }
        """;

    private static readonly Tokenizer s_o200k = TiktokenTokenizer.CreateForEncoding("o200k_base");
    private static readonly Tokenizer s_cl100k = TiktokenTokenizer.CreateForEncoding("cl100k_base");

    private static long Estimate(params ChatMessage[] messages) => TokenEstimate.Of(messages, null);

    [Fact]
    public void Nothing_is_nothing() => Assert.Equal(0, TokenEstimate.Of([], null));

    [Fact]
    public void It_grows_with_the_text()
    {
        var short1 = Estimate(new ChatMessage(ChatRole.User, "Fix the bug."));
        var longer = Estimate(new ChatMessage(ChatRole.User, English));
        var twice = Estimate(new ChatMessage(ChatRole.User, English + English));
        var two = Estimate(new ChatMessage(ChatRole.User, English), new ChatMessage(ChatRole.User, English));

        Assert.True(short1 > 0);
        Assert.True(longer > short1 * 20, $"{longer} vs {short1}");
        Assert.InRange(twice, longer * 2 - 10, longer * 2);
        Assert.True(two > longer * 2 - 1, "each message adds its own overhead");

        // One token per three UTF-8 bytes, plus a little per message.
        var bytes = System.Text.Encoding.UTF8.GetByteCount(English);
        Assert.InRange(longer, bytes / 3, (bytes / 3) + 10);
    }

    [Fact]
    public void Multi_byte_text_is_counted_by_its_utf8_bytes()
    {
        // 16 bytes of overhead per message, then a token per three bytes: 2 bytes per 'é', 3 per '語'.
        Assert.Equal(106, Estimate(new ChatMessage(ChatRole.User, new string('a', 300))));
        Assert.Equal(206, Estimate(new ChatMessage(ChatRole.User, new string('é', 300))));
        Assert.Equal(306, Estimate(new ChatMessage(ChatRole.User, new string('語', 300))));
    }

    [Fact]
    public void Instructions_count()
    {
        var message = new ChatMessage(ChatRole.User, "hi");
        var without = TokenEstimate.Of([message], new ChatOptions());
        var with = TokenEstimate.Of([message], new ChatOptions { Instructions = English });

        Assert.True(with - without >= System.Text.Encoding.UTF8.GetByteCount(English) / 3, $"{with} vs {without}");
    }

    [Fact]
    public void Tool_definitions_count_with_their_json_schema()
    {
        var tool = AIFunctionFactory.Create(
            (string path, int startLine, int endLine) => path,
            "read_file",
            "Reads a file of the worktree and returns its lines numbered; binary files are refused.");
        var message = new ChatMessage(ChatRole.User, "hi");
        var without = TokenEstimate.Of([message], new ChatOptions());
        var with = TokenEstimate.Of([message], new ChatOptions { Tools = [tool] });
        var two = TokenEstimate.Of([message], new ChatOptions { Tools = [tool, tool] });

        var schemaBytes = tool.JsonSchema.GetRawText().Length + tool.Name.Length + tool.Description.Length;
        Assert.True(with - without >= schemaBytes / 3, $"{with - without} tokens for a {schemaBytes}-byte definition");
        Assert.InRange(two - without, 2 * (with - without) - 1, 2 * (with - without) + 1);
    }

    [Fact]
    public void Function_calls_and_results_count_their_arguments_and_results()
    {
        var bare = Estimate(new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("c1", "write_file")]));
        var call = Estimate(new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("c1", "write_file", new Dictionary<string, object?> { ["path"] = "src/Billing.cs", ["content"] = CSharp })]));
        var result = Estimate(new ChatMessage(ChatRole.Tool, [new FunctionResultContent("c1", CSharp)]));
        var structured = Estimate(new ChatMessage(ChatRole.Tool, [new FunctionResultContent("c1", new { exit_code = 1, output = English })]));
        var empty = Estimate(new ChatMessage(ChatRole.Tool, [new FunctionResultContent("c1", null)]));

        var codeTokens = System.Text.Encoding.UTF8.GetByteCount(CSharp) / 3;
        Assert.True(call - bare >= codeTokens, $"call: {call - bare} < {codeTokens}");
        Assert.True(result >= codeTokens, $"result: {result} < {codeTokens}");
        Assert.True(structured >= System.Text.Encoding.UTF8.GetByteCount(English) / 3, $"structured result: {structured}");
        Assert.True(empty < 10);
    }

    private static readonly Features.Agents.Prompts.PromptTemplates s_prompts = new(
        Microsoft.Extensions.Options.Options.Create(new AgentOptions { PromptsDir = Path.Combine(Path.GetTempPath(), "devorch-no-prompts") }),
        Microsoft.Extensions.Logging.Abstractions.NullLogger<Features.Agents.Prompts.PromptTemplates>.Instance);

    private static string DevelopmentSystemPrompt => s_prompts.Render(Features.Agents.Prompts.PromptCatalog.DevelopmentSystem, Features.Agents.Prompts.PromptCatalog.DevelopmentSystemModel(null));

    private static string ReviewSystemPrompt => s_prompts.Render(Features.Agents.Prompts.PromptCatalog.ReviewSystem, new Dictionary<string, object?>());

    public static TheoryData<string, string> Texts => new()
    {
        { "English", English },
        { "C#", CSharp },
        { "development system prompt", DevelopmentSystemPrompt },
        { "review system prompt", ReviewSystemPrompt },
        { "a diff", Diff(CSharp) },
    };

    [Theory]
    [MemberData(nameof(Texts))]
    public void It_is_at_least_what_real_tokenizers_count(string kind, string text)
    {
        var estimate = Estimate(new ChatMessage(ChatRole.User, text));
        var o200k = s_o200k.CountTokens(text);
        var cl100k = s_cl100k.CountTokens(text);

        Assert.True(estimate >= o200k, $"{kind}: estimate {estimate} < o200k {o200k}");
        Assert.True(estimate >= cl100k, $"{kind}: estimate {estimate} < cl100k {cl100k}");

        // It errs high, but not absurdly: a bound several times too high would refuse calls that fit.
        Assert.True(estimate <= cl100k * 2, $"{kind}: estimate {estimate} is more than twice cl100k {cl100k}");
    }

    [Fact]
    public void A_whole_conversation_is_at_least_what_a_tokenizer_counts_for_its_parts()
    {
        var messages = new List<ChatMessage>
        {
            new(ChatRole.System, DevelopmentSystemPrompt),
            new(ChatRole.User, English),
            new(ChatRole.Assistant, [new FunctionCallContent("c1", "read_file", new Dictionary<string, object?> { ["path"] = "src/Billing.cs" })]),
            new(ChatRole.Tool, [new FunctionResultContent("c1", CSharp)]),
            new(ChatRole.Assistant, [new FunctionCallContent("c2", "replace", new Dictionary<string, object?> { ["path"] = "src/Billing.cs", ["old_text"] = "1_000m", ["new_text"] = "5_000m" })]),
            new(ChatRole.Tool, [new FunctionResultContent("c2", Diff(CSharp))]),
        };
        var counted = new[] { DevelopmentSystemPrompt, English, "read_file{\"path\":\"src/Billing.cs\"}", CSharp, "replace{\"path\":\"src/Billing.cs\",\"old_text\":\"1_000m\",\"new_text\":\"5_000m\"}", Diff(CSharp) }
            .Sum(text => s_o200k.CountTokens(text));

        Assert.True(TokenEstimate.Of(messages, null) >= counted, $"{TokenEstimate.Of(messages, null)} < {counted}");
    }

    private static string Diff(string code) =>
        "diff --git a/src/Billing.cs b/src/Billing.cs\n--- a/src/Billing.cs\n+++ b/src/Billing.cs\n@@ -1,40 +1,40 @@\n"
        + string.Join("\n", code.Split('\n').Select((line, i) => (i % 7 == 3 ? "+" : " ") + line));
}
