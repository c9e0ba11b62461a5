using System.Globalization;
using DevOrchestrator.Features.Costs;
using DevOrchestrator.Hosting;

namespace DevOrchestrator.UnitTests.Costs;

public sealed class CostWindowTests
{
    private static readonly DateTimeOffset s_now = new(2026, 11, 29, 2, 38, 0, TimeSpan.Zero);

    private static DateTimeOffset Utc(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    [Theory]
    [InlineData("2025-03-01", false, "2025-03-01T00:00:00Z")]
    [InlineData("2025-03-01", true, "2025-03-02T00:00:00Z")]
    [InlineData("2025-12-31", true, "2026-01-01T00:00:00Z")]
    [InlineData("2025-03-01T08:30Z", true, "2025-03-01T08:30:00Z")]
    [InlineData("2025-03-01T08:30:15", false, "2025-03-01T08:30:15Z")]
    [InlineData("2025-03-01T08:30:15.125Z", false, "2025-03-01T08:30:15.125Z")]
    [InlineData("2025-03-01T08:30:00+02:00", false, "2025-03-01T06:30:00Z")]
    [InlineData("2025-03-01T08:30:00 02:00", false, "2025-03-01T06:30:00Z")]
    [InlineData("2025-03-01T00:30:00-01:00", true, "2025-03-01T01:30:00Z")]
    [InlineData(" 2025-03-01 ", false, "2025-03-01T00:00:00Z")]
    public void Dates_and_date_times_parse_to_utc_instants(string text, bool upperBound, string expected)
    {
        Assert.Null(CostWindow.Parse(text, upperBound, out var instant, out var isDate));
        Assert.Equal(text.Trim().Length == 10, isDate);
        Assert.Equal(Utc(expected), instant);
        Assert.Equal(TimeSpan.Zero, instant.Offset);
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("2025-02-30")]
    [InlineData("2025-13-01")]
    [InlineData("03/01/2025")]
    [InlineData("2025-03-01T25:00:00Z")]
    [InlineData("2025-03-01 08:30")]
    [InlineData("20250301")]
    public void Anything_else_is_refused_with_the_format(string text) =>
        Assert.Equal(CostWindow.FormatHint, CostWindow.Parse(text, upperBound: false, out _, out _));

    [Theory]
    [InlineData("0001-01-01")]
    [InlineData("1969-12-31T23:59:59Z")]
    [InlineData("9999-12-31")]
    public void Years_out_of_range_are_refused(string text) =>
        Assert.Equal("must be in the years 1970 to 9998", CostWindow.Parse(text, upperBound: true, out _, out _));

    [Fact]
    public void Without_bounds_the_window_is_the_current_utc_month()
    {
        var validation = new Validation();
        var (from, to) = CostWindow.Read(null, null, new DateTimeOffset(2026, 12, 31, 23, 30, 0, TimeSpan.FromHours(-2)), validation);
        Assert.True(validation.IsValid);
        Assert.Equal(Utc("2027-01-01T00:00:00Z"), from);
        Assert.Equal(Utc("2027-02-01T00:00:00Z"), to);
    }

    [Fact]
    public void From_alone_runs_to_the_end_of_the_month_and_to_alone_starts_at_the_first_of_its_month()
    {
        var validation = new Validation();
        Assert.Equal((Utc("2026-01-15T00:00:00Z"), Utc("2026-12-01T00:00:00Z")), CostWindow.Read("2026-01-15", null, s_now, validation));
        Assert.Equal((Utc("2025-03-01T00:00:00Z"), Utc("2025-03-16T00:00:00Z")), CostWindow.Read(null, "2025-03-15", s_now, validation));
        // An exclusive end on the first instant of a month belongs to the month before.
        Assert.Equal((Utc("2025-03-01T00:00:00Z"), Utc("2025-04-01T00:00:00Z")), CostWindow.Read(null, "2025-04-01T00:00:00Z", s_now, validation));
        Assert.True(validation.IsValid);
    }

    [Fact]
    public void An_empty_window_is_allowed_a_reversed_one_is_not()
    {
        var validation = new Validation();
        CostWindow.Read("2025-03-01T10:00:00Z", "2025-03-01T10:00:00Z", s_now, validation);
        Assert.True(validation.IsValid);

        // A date "to" is its whole day: from the 1st at 23:00 to the 1st is an hour; from the 2nd to the 1st is reversed.
        Assert.Equal((Utc("2025-03-01T23:00:00Z"), Utc("2025-03-02T00:00:00Z")), CostWindow.Read("2025-03-01T23:00:00Z", "2025-03-01", s_now, validation));
        Assert.True(validation.IsValid);
        CostWindow.Read("2025-03-02", "2025-03-01", s_now, validation);
        Assert.Equal("must not be after to", Assert.Single(validation.Errors["from"]));
        Assert.False(validation.Errors.ContainsKey("to"));

        var later = new Validation();
        CostWindow.Read("2025-03-01T10:00:01Z", "2025-03-01T10:00:00Z", s_now, later);
        Assert.Single(later.Errors["from"]);

        var future = new Validation();
        CostWindow.Read("2027-01-01", null, s_now, future);
        Assert.Single(future.Errors["from"]);
    }

    [Fact]
    public void Each_bad_bound_is_named()
    {
        var validation = new Validation();
        CostWindow.Read("soon", "later", s_now, validation);
        Assert.Equal(["from", "to"], validation.Errors.Keys.Order().ToArray());
    }
}

public sealed class CostTallyTests
{
    [Fact]
    public void Rows_sum_per_key_round_to_micro_dollars_and_put_the_dearest_first()
    {
        var tally = new CostTally();
        tally.Add(2L, 1, 10, 1, 0, 0, 0.1000004m);
        tally.Add(null, 3, 5, 5, 5, 5, 0.2m);
        tally.Add(1L, 1, 100, 20, 3, 4, 0.75m);
        tally.Add(2L, 2, 20, 2, 1, 1, 0.6500001m);
        tally.Add(3L, 1, 1, 1, 1, 1, 0.2m);

        var rows = tally.Rows(chronological: false, key => key is long id ? $"#{id}" : null);
        Assert.Equal([2L, 1L, null, 3L], rows.Select(r => r.Key).ToArray());
        var first = rows[0];
        Assert.Equal(0.750001m, first.Usd);
        Assert.Equal(3, first.Calls);
        Assert.Equal(new CostsApi.TokenTotals(30, 3, 1, 1, 35), first.Tokens);
        Assert.Equal("#2", first.Label);
        // Equal dollars: more calls first; then by key.
        Assert.Equal((0.2m, 3L, (string?)null), (rows[2].Usd, rows[2].Calls, rows[2].Label));
        Assert.Equal(0.2m, rows[3].Usd);
    }

    [Fact]
    public void Days_are_in_order_and_labels_from_the_grouping_win()
    {
        var tally = new CostTally();
        tally.Add(CostTally.DayKey(new DateTime(2025, 3, 2, 23, 59, 59, DateTimeKind.Utc)), 1, 1, 1, 0, 0, 5m);
        tally.Add(CostTally.DayKey(new DateTime(2025, 3, 1, 0, 0, 0, DateTimeKind.Utc)), 1, 1, 1, 0, 0, 1m);
        tally.Add(CostTally.DayKey(new DateTime(2025, 2, 28, 12, 0, 0, DateTimeKind.Utc)), 1, 1, 1, 0, 0, 9m);
        Assert.Equal(["2025-02-28", "2025-03-01", "2025-03-02"], tally.Rows(chronological: true, _ => null).Select(r => (string)r.Key!).ToArray());

        var models = new CostTally();
        models.Add("gpt-5", 1, 1, 1, 0, 0, 1m);
        models.Label("gpt-5", "openai");
        models.Add("gpt-5", 1, 1, 1, 0, 0, 1m);
        models.Label("gpt-5", "openrouter");
        models.Label("gpt-5", "openai");
        var row = Assert.Single(models.Rows(chronological: false, _ => "ignored"));
        Assert.Equal(("openai, openrouter", 2L, 2m), (row.Label, row.Calls, row.Usd));
    }

    [Theory]
    [InlineData("100", "40", "1.5", "58.5")]
    [InlineData("10", "9", "2", "0")]
    [InlineData("10", "12", "0", "0")]
    [InlineData("0", "0", "0", "0")]
    public void Remaining_is_budget_less_spent_and_reserved_never_negative(string budget, string spent, string reserved, string remaining) =>
        Assert.Equal(decimal.Parse(remaining, CultureInfo.InvariantCulture),
            CostsApi.Remaining(decimal.Parse(budget, CultureInfo.InvariantCulture), decimal.Parse(spent, CultureInfo.InvariantCulture), decimal.Parse(reserved, CultureInfo.InvariantCulture)));
}
