using DevOrchestrator.Features.Agents;

namespace DevOrchestrator.UnitTests.Agents;

public sealed class ReviewVerdictParsingTests
{
    private const string NoVerdict = "the review answer had no readable verdict: ";

    [Fact]
    public void Plain_json_approval_keeps_its_reasons_and_summary()
    {
        var verdict = ReviewAgent.Parse("""{"verdict": "approve", "reasons": ["tests cover the new flag", "no unrelated changes"], "summary": "Adds --version."}""");

        Assert.True(verdict.Approved);
        Assert.Equal(ReviewVerdict.Approve, verdict.Verdict);
        Assert.Equal(["tests cover the new flag", "no unrelated changes"], verdict.Reasons);
        Assert.Equal("Adds --version.", verdict.Summary);
    }

    [Fact]
    public void Plain_json_changes_requested_keeps_its_reasons()
    {
        var verdict = ReviewAgent.Parse("""{"verdict":"changes_requested","reasons":["the null check is missing in Parse","", "no test for empty input"],"summary":"Almost."}""");

        Assert.False(verdict.Approved);
        Assert.Equal(ReviewVerdict.ChangesRequested, verdict.Verdict);
        Assert.Equal(["the null check is missing in Parse", "no test for empty input"], verdict.Reasons);
        Assert.Equal("Almost.", verdict.Summary);
    }

    [Fact]
    public void Json_inside_prose_and_a_code_fence_is_found()
    {
        var verdict = ReviewAgent.Parse("""
            Here is my review of the change.

            ```json
            {
              "verdict": "changes_requested",
              "reasons": ["Divide() throws on zero instead of returning an error"],
              "summary": "One bug."
            }
            ```

            Let me know if you need more detail.
            """);

        Assert.Equal(ReviewVerdict.ChangesRequested, verdict.Verdict);
        Assert.Equal(["Divide() throws on zero instead of returning an error"], verdict.Reasons);
        Assert.Equal("One bug.", verdict.Summary);
    }

    [Fact]
    public void Json_in_a_bare_code_fence_is_found()
    {
        var verdict = ReviewAgent.Parse("```\n{\"verdict\": \"approve\", \"reasons\": [], \"summary\": \"ok\"}\n```");

        Assert.True(verdict.Approved);
        Assert.Empty(verdict.Reasons);
        Assert.Equal("ok", verdict.Summary);
    }

    [Theory]
    [InlineData("approve")]
    [InlineData("approved")]
    [InlineData("Approved")]
    [InlineData(" APPROVE ")]
    public void Approval_variants(string word) =>
        Assert.Equal(ReviewVerdict.Approve, ReviewAgent.Parse($$"""{"verdict": "{{word}}", "reasons": ["fine"]}""").Verdict);

    [Theory]
    [InlineData("changes_requested")]
    [InlineData("changes-requested")]
    [InlineData("Changes requested")]
    [InlineData("request_changes")]
    [InlineData("request-changes")]
    [InlineData("REQUEST CHANGES")]
    [InlineData("changes")]
    public void Changes_requested_variants(string word)
    {
        var verdict = ReviewAgent.Parse($$"""{"verdict": "{{word}}", "reasons": ["fix the test"]}""");

        Assert.Equal(ReviewVerdict.ChangesRequested, verdict.Verdict);
        Assert.Equal(["fix the test"], verdict.Reasons);
        Assert.Equal(string.Empty, verdict.Summary);
    }

    [Theory]
    [InlineData("Looks good to me!")]
    [InlineData("")]
    [InlineData("{not json at all}")]
    [InlineData("""{"verdict": "maybe", "reasons": ["unsure"]}""")]
    [InlineData("""{"verdict": 1, "reasons": []}""")]
    [InlineData("""{"reasons": ["no verdict key"]}""")]
    [InlineData("""["approve"]""")]
    [InlineData("} approve {")]
    public void An_answer_without_a_readable_verdict_requests_changes_and_says_why(string answer)
    {
        var verdict = ReviewAgent.Parse(answer);

        Assert.False(verdict.Approved);
        Assert.Equal(ReviewVerdict.ChangesRequested, verdict.Verdict);
        Assert.Equal(NoVerdict + answer, Assert.Single(verdict.Reasons));
        Assert.Equal(string.Empty, verdict.Summary);
    }

    [Fact]
    public void A_long_unreadable_answer_is_quoted_cut_to_head_and_tail()
    {
        var answer = "I reviewed everything. " + new string('x', 5000) + " THE END";

        var reason = Assert.Single(ReviewAgent.Parse(answer).Reasons);

        Assert.StartsWith(NoVerdict + "I reviewed everything.", reason, StringComparison.Ordinal);
        Assert.EndsWith("THE END", reason, StringComparison.Ordinal);
        Assert.True(reason.Length < NoVerdict.Length + 600, $"{reason.Length} characters");
    }

    [Fact]
    public void Braces_in_the_prose_before_the_verdict_do_not_hide_it()
    {
        var verdict = ReviewAgent.Parse("""`Add() { }` is fine. {"verdict": "approve", "reasons": [], "summary": "ok"}""");

        Assert.True(verdict.Approved);
        Assert.Equal("ok", verdict.Summary);
    }
}
