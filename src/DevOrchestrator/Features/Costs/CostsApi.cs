using System.Globalization;
using System.Linq.Expressions;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Hosting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Costs;

/// <summary>
/// <c>GET /api/v1/costs?from=&amp;to=&amp;group_by=</c>: what model calls cost in a window (the ledger, <c>cost_entries</c>),
/// broken down by day, model, project, task or user, next to the current UTC month's budget (<c>budget_months</c>).
/// </summary>
public static class CostsApi
{
    public const string DefaultGroupBy = "day";

    public static readonly IReadOnlyList<string> GroupBys = ["day", "model", "project", "task", "user"];

    public sealed record TokenTotals(long Input, long Output, long CacheWrite, long CacheRead, long Total);

    /// <summary>
    /// One group. <c>key</c>: the day (<c>yyyy-MM-dd</c>), the model id, or the project, task or user id (a number; null
    /// for calls outside any project, task or user). <c>label</c>: the provider, project name, task title or user email.
    /// </summary>
    public sealed record BreakdownRow(object? Key, string? Label, long Calls, TokenTotals Tokens, decimal Usd);

    public sealed record CostsResponse(
        decimal TotalUsd,
        string Month,
        decimal MonthlyBudgetUsd,
        decimal MonthSpentUsd,
        decimal ReservedUsd,
        decimal RemainingUsd,
        decimal PerTaskLimitUsd,
        bool CostTrackingEnabled,
        DateTimeOffset From,
        DateTimeOffset To,
        string GroupBy,
        IReadOnlyList<BreakdownRow> Breakdown);

    public static IEndpointRouteBuilder MapCostsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/costs").WithTags("Costs").RequireAuthorization(Roles.CanView);
        group.MapGet("/", GetAsync).WithSummary(
            "Model spending in the window [from, to) (default: the current UTC month) grouped by day, model, project, task or user, " +
            "with the current month's budget, spent, reserved and remaining dollars.").ProducesData<CostsResponse>();
        return app;
    }

    /// <summary>The query of <c>GET /api/v1/costs</c>, bound as text so that one answer names every bad value.</summary>
    public sealed record CostsQuery([FromQuery(Name = "from")] string? From, [FromQuery(Name = "to")] string? To, [FromQuery(Name = "group_by")] string? GroupBy);

    private static async Task<IResult> GetAsync(
        [AsParameters] CostsQuery query, HttpContext context, AppDbContext db, IOptions<BudgetOptions> budgetOptions, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        var now = timeProvider.GetUtcNow();
        var window = CostWindow.Read(Text(query.From), Text(query.To), now, validation);
        var groupBy = Text(query.GroupBy) ?? DefaultGroupBy;
        validation.OneOf("group_by", groupBy, GroupBys);
        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        var (from, to) = window;
        var entries = VisibleEntries(db, context).Where(c => c.CreatedAt >= from && c.CreatedAt < to);
        var tally = groupBy switch
        {
            "day" => await TallyByDayAsync(db, entries, cancellationToken),
            "model" => await TallyAsync(entries, c => new { c.Model, c.Provider }, k => (k.Model, k.Provider), cancellationToken),
            "project" => await TallyAsync(entries, c => c.ProjectId, k => (k, null), cancellationToken),
            "task" => await TallyAsync(entries, c => c.TaskId, k => (k, null), cancellationToken),
            _ => await TallyAsync(entries, c => c.UserId, k => (k, null), cancellationToken),
        };
        var labels = await LabelsAsync(db, groupBy, tally.Keys.OfType<long>().ToList(), cancellationToken);
        var rows = tally.Rows(chronological: groupBy == "day", key => key is long id ? labels.GetValueOrDefault(id) : null);

        var month = CostLedger.MonthOf(now);
        var budget = await db.BudgetMonths.AsNoTracking().FirstOrDefaultAsync(b => b.Month == month, cancellationToken);
        var spent = Money.ToUsd(budget?.SpentMicros ?? 0);
        var reserved = Money.ToUsd(budget?.ReservedMicros ?? 0);
        return Api.Ok(context, new CostsResponse(
            TotalUsd: rows.Sum(r => r.Usd),
            Month: month,
            MonthlyBudgetUsd: budgetOptions.Value.MonthlyBudgetUsd,
            MonthSpentUsd: spent,
            ReservedUsd: reserved,
            RemainingUsd: Remaining(budgetOptions.Value.MonthlyBudgetUsd, spent, reserved),
            PerTaskLimitUsd: budgetOptions.Value.PerTaskLimitUsd,
            CostTrackingEnabled: budgetOptions.Value.CostTrackingEnabled,
            From: from,
            To: to,
            GroupBy: groupBy,
            Breakdown: rows));
    }

    /// <summary>
    /// The ledger rows the caller may see (Features/Auth/Ownership), filtered in SQL: an admin sees all; anyone else the
    /// calls of the tasks they see, the calls for their projects outside a task (plans), and their own calls outside
    /// any project. The month's budget, spent and remaining beside them stay the installation's.
    /// </summary>
    private static IQueryable<CostEntry> VisibleEntries(AppDbContext db, HttpContext context)
    {
        var entries = db.CostEntries.AsNoTracking();
        if (Ownership.IsAdmin(context.User))
        {
            return entries;
        }

        var userId = context.User.UserId() ?? -1;
        var taskIds = Ownership.VisibleTasks(db, context.User).Select(t => (long?)t.Id);
        var projectIds = Ownership.MemberProjectIds(db, context.User);
        return entries.Where(c => c.TaskId != null
            ? taskIds.Contains(c.TaskId)
            : c.ProjectId != null ? projectIds.Contains(c.ProjectId) : c.UserId == userId);
    }

    /// <summary>What the month can still spend: the budget less what is spent and what calls in flight hold, never below 0.</summary>
    public static decimal Remaining(decimal budgetUsd, decimal spentUsd, decimal reservedUsd) => Math.Max(0m, budgetUsd - spentUsd - reservedUsd);

    private static string? Text(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>
    /// Groups and sums in SQL; <paramref name="describe"/> turns a group's key into the row's key and (for models) label.
    /// SQLite keeps decimals as doubles: its sums are rounded to micro-dollars by the tally.
    /// </summary>
    private static async Task<CostTally> TallyAsync<TKey>(
        IQueryable<CostEntry> entries, Expression<Func<CostEntry, TKey>> keySelector, Func<TKey, (object? Key, string? Label)> describe, CancellationToken cancellationToken)
    {
        var groups = await entries.GroupBy(keySelector).Select(g => new
        {
            g.Key,
            Calls = g.LongCount(),
            Input = g.Sum(c => c.InputTokens),
            Output = g.Sum(c => c.OutputTokens),
            CacheWrite = g.Sum(c => c.CacheWriteTokens),
            CacheRead = g.Sum(c => c.CacheReadTokens),
            Usd = g.Sum(c => c.Usd),
        }).ToListAsync(cancellationToken);

        var tally = new CostTally();
        foreach (var g in groups)
        {
            var (key, label) = describe(g.Key);
            tally.Add(key, g.Calls, g.Input, g.Output, g.CacheWrite, g.CacheRead, g.Usd);
            if (label is not null)
            {
                tally.Label(key, label);
            }
        }

        return tally;
    }

    /// <summary>
    /// PostgreSQL groups by the UTC day in SQL. SQLite stores instants as EF's binary longs, which SQL cannot turn into a
    /// day, so there the window's rows are streamed (only their day, tokens and dollars) and summed here: memory holds one
    /// row per day, and the time grows with the number of calls in the window.
    /// </summary>
    private static async Task<CostTally> TallyByDayAsync(AppDbContext db, IQueryable<CostEntry> entries, CancellationToken cancellationToken)
    {
        if (db is not SqliteAppDbContext)
        {
            // Npgsql reads timestamptz with offset 0 and translates .Date to date_trunc('day', created_at AT TIME ZONE 'UTC').
            return await TallyAsync(entries, c => c.CreatedAt.Date, day => ((object?)CostTally.DayKey(day), (string?)null), cancellationToken);
        }

        var tally = new CostTally();
        var calls = entries.Select(c => new { c.CreatedAt, c.InputTokens, c.OutputTokens, c.CacheWriteTokens, c.CacheReadTokens, c.Usd }).AsAsyncEnumerable();
        await foreach (var c in calls.WithCancellation(cancellationToken))
        {
            tally.Add(CostTally.DayKey(c.CreatedAt.UtcDateTime), 1, c.InputTokens, c.OutputTokens, c.CacheWriteTokens, c.CacheReadTokens, c.Usd);
        }

        return tally;
    }

    /// <summary>Names for the ids in the breakdown (one query for the rows shown): project names, task titles, user emails.</summary>
    private static async Task<Dictionary<long, string>> LabelsAsync(AppDbContext db, string groupBy, List<long> ids, CancellationToken cancellationToken)
    {
        var labels = new Dictionary<long, string>();
        if (ids.Count == 0)
        {
            return labels;
        }

        var names = groupBy switch
        {
            "project" => await db.Projects.AsNoTracking().Where(p => ids.Contains(p.Id)).Select(p => new { p.Id, Name = p.Name }).ToListAsync(cancellationToken),
            "task" => await db.Tasks.AsNoTracking().Where(t => ids.Contains(t.Id)).Select(t => new { t.Id, Name = t.Title }).ToListAsync(cancellationToken),
            "user" => await db.Users.AsNoTracking().Where(u => ids.Contains(u.Id)).Select(u => new { u.Id, Name = u.Email }).ToListAsync(cancellationToken),
            _ => [],
        };
        foreach (var n in names)
        {
            labels[n.Id] = n.Name;
        }

        return labels;
    }
}

/// <summary>
/// The window of <c>GET /api/v1/costs</c>, half-open: <c>[from, to)</c> in UTC. <c>from</c> and <c>to</c> are ISO 8601
/// dates (<c>2026-11-01</c>) or date-times (<c>2026-11-01T08:30:00Z</c>; no offset means UTC). A date <c>to</c> includes
/// that whole day. Neither given: the current UTC month. Only <c>from</c>: up to the end of the current month. Only
/// <c>to</c>: from the first day of its month.
/// </summary>
internal static class CostWindow
{
    private static readonly string[] s_dateTimeFormats =
    [
        "yyyy-MM-dd'T'HH:mmK",
        "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
    ];

    public const int MinYear = 1970;
    public const int MaxYear = 9998;

    public const string FormatHint = "must be an ISO 8601 date (2026-11-01) or date-time (2026-11-01T08:30:00Z)";

    public static (DateTimeOffset From, DateTimeOffset To) Read(string? fromText, string? toText, DateTimeOffset now, Validation validation)
    {
        var monthStart = MonthStart(now);
        var from = Bound("from", fromText, upperBound: false, validation, out _);
        var to = Bound("to", toText, upperBound: true, validation, out var toIsDate);
        if ((fromText is not null && from is null) || (toText is not null && to is null))
        {
            return (monthStart, monthStart.AddMonths(1));
        }

        var end = to ?? monthStart.AddMonths(1);
        var start = from ?? (to is { } given ? MonthStart(given.AddTicks(-1)) : monthStart);
        // A date "to" is the whole day: a "from" at (or after) its end is after it.
        if (start > end || (toIsDate && start == end))
        {
            validation.Add("from", "must not be after to");
        }

        return (start, end);
    }

    private static DateTimeOffset? Bound(string field, string? text, bool upperBound, Validation validation, out bool isDate)
    {
        isDate = false;
        if (text is null)
        {
            return null;
        }

        if (Parse(text, upperBound, out var instant, out isDate) is { } error)
        {
            validation.Add(field, error);
            return null;
        }

        return instant;
    }

    /// <summary>Parses one bound (a date is its midnight, UTC, or the next midnight for an upper bound); returns the error, or null.</summary>
    public static string? Parse(string text, bool upperBound, out DateTimeOffset instant, out bool isDate)
    {
        text = text.Trim();
        isDate = DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date);
        if (isDate)
        {
            instant = new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        }
        else if (DateTimeOffset.TryParseExact(
            text.Replace(' ', '+'), // an unescaped '+' of an offset arrives as a space in a query string
            s_dateTimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out instant))
        {
            instant = instant.ToUniversalTime();
        }
        else
        {
            return FormatHint;
        }

        if (instant.Year is < MinYear or > MaxYear)
        {
            return $"must be in the years {MinYear} to {MaxYear}";
        }

        if (upperBound && isDate)
        {
            instant = instant.AddDays(1);
        }

        return null;
    }

    public static DateTimeOffset MonthStart(DateTimeOffset instant)
    {
        var utc = instant.UtcDateTime;
        return new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero);
    }
}

/// <summary>Sums model calls per key and turns them into breakdown rows: dollars rounded to micro-dollars, ordered.</summary>
internal sealed class CostTally
{
    private sealed class Sums
    {
        public long Calls;
        public long Input;
        public long Output;
        public long CacheWrite;
        public long CacheRead;
        public decimal Usd;
        public string? Label;
    }

    private static readonly object s_none = new();
    private readonly Dictionary<object, Sums> _sums = [];
    private readonly List<object?> _order = [];

    public static string DayKey(DateTime utc) => utc.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public IEnumerable<object> Keys => _order.OfType<object>();

    public void Add(object? key, long calls, long input, long output, long cacheWrite, long cacheRead, decimal usd)
    {
        var sums = Get(key);
        sums.Calls += calls;
        sums.Input += input;
        sums.Output += output;
        sums.CacheWrite += cacheWrite;
        sums.CacheRead += cacheRead;
        sums.Usd += usd;
    }

    /// <summary>Names a key (several different names are listed in turn: one model served by two providers).</summary>
    public void Label(object? key, string label)
    {
        var sums = Get(key);
        if (sums.Label is null)
        {
            sums.Label = label;
        }
        else if (!sums.Label.Split(", ").Contains(label))
        {
            sums.Label += ", " + label;
        }
    }

    /// <summary>
    /// The rows: by key when <paramref name="chronological"/> (days), else by dollars (most first), then calls, then key.
    /// <paramref name="label"/> names a key (null for none) unless the tally already has a label for it.
    /// </summary>
    public IReadOnlyList<CostsApi.BreakdownRow> Rows(bool chronological, Func<object?, string?> label)
    {
        var rows = _order.Select(key =>
        {
            var s = _sums[key ?? s_none];
            var usd = Math.Round(s.Usd, 6, MidpointRounding.AwayFromZero);
            return new CostsApi.BreakdownRow(key, s.Label ?? label(key), s.Calls,
                new CostsApi.TokenTotals(s.Input, s.Output, s.CacheWrite, s.CacheRead, s.Input + s.Output + s.CacheWrite + s.CacheRead), usd);
        });
        var ordered = chronological
            ? rows.OrderBy(r => r.Key?.ToString(), StringComparer.Ordinal)
            : rows.OrderByDescending(r => r.Usd).ThenByDescending(r => r.Calls).ThenBy(r => r.Key is null).ThenBy(r => r.Key, KeyComparer.Instance);
        return ordered.ToList();
    }

    private Sums Get(object? key)
    {
        if (!_sums.TryGetValue(key ?? s_none, out var sums))
        {
            _sums[key ?? s_none] = sums = new Sums();
            _order.Add(key);
        }

        return sums;
    }

    /// <summary>Numbers by value, text ordinally.</summary>
    private sealed class KeyComparer : IComparer<object?>
    {
        public static readonly KeyComparer Instance = new();

        public int Compare(object? x, object? y) => (x, y) switch
        {
            (long a, long b) => a.CompareTo(b),
            (null, null) => 0,
            (null, _) => 1,
            (_, null) => -1,
            _ => string.CompareOrdinal(x.ToString(), y.ToString()),
        };
    }
}
