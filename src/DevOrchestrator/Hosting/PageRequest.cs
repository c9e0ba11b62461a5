using System.Linq.Expressions;

namespace DevOrchestrator.Hosting;

/// <summary>The <c>page</c>, <c>per_page</c>, <c>sort</c> and <c>order</c> query parameters of every list.</summary>
public sealed record PageRequest(int Page, int PerPage, string Sort, bool Descending)
{
    public const int MaxPerPage = 200;

    /// <summary>Validates the paging parameters; <paramref name="sortable"/> lists the fields one may sort by (first is the default).</summary>
    public static PageRequest Read(PageQuery query, Validation validation, IReadOnlyList<string> sortable)
    {
        var page = ReadInt(query.Page, "page", 1, 1, int.MaxValue, validation);
        var perPage = ReadInt(query.PerPage, "per_page", 20, 1, MaxPerPage, validation);
        var sort = query.Sort ?? string.Empty;
        if (sort.Length == 0)
        {
            sort = sortable[0];
        }
        else if (!sortable.Contains(sort))
        {
            validation.Add("sort", $"must be one of: {string.Join(", ", sortable)}");
        }

        var order = query.Order ?? string.Empty;
        if (order.Length > 0 && order is not ("asc" or "desc"))
        {
            validation.Add("order", "must be asc or desc");
        }

        return new PageRequest(page, perPage, sort, order != "asc");
    }

    private static int ReadInt(string? text, string name, int fallback, int min, int max, Validation validation)
    {
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }

        if (!int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            validation.Add(name, $"must be a whole number from {min} to {max}");
            return fallback;
        }

        return value;
    }

    public Pagination Describe(long total) => new(Page, PerPage, total, (int)Math.Ceiling(total / (double)PerPage));

    public IQueryable<T> Apply<T>(IQueryable<T> query, IReadOnlyDictionary<string, Expression<Func<T, object?>>> sortKeys, Expression<Func<T, long>> tieBreaker)
    {
        var key = sortKeys[Sort];
        var ordered = Descending ? query.OrderByDescending(key) : query.OrderBy(key);
        ordered = Descending ? ordered.ThenByDescending(tieBreaker) : ordered.ThenBy(tieBreaker);
        return ordered.Skip((Page - 1) * PerPage).Take(PerPage);
    }
}
