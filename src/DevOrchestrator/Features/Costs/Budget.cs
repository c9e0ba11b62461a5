namespace DevOrchestrator.Features.Costs;

/// <summary>
/// One calendar month (UTC) of spending, in micro-dollars: what calls cost, and what calls in flight have reserved.
/// Reservations are made by a conditional update of this row, so concurrent workers can never overshoot together.
/// </summary>
public sealed class BudgetMonth
{
    /// <summary><c>yyyy-MM</c>.</summary>
    public required string Month { get; set; }
    public long SpentMicros { get; set; }
    public long ReservedMicros { get; set; }

    /// <summary>The 80% <c>system.alert</c> has fired this month.</summary>
    public bool Alerted80 { get; set; }

    /// <summary>The 100% <c>system.alert</c> has fired this month.</summary>
    public bool Alerted100 { get; set; }
}

/// <summary>A call's worst-case cost held against its task and month until the call ends (or the reservation expires).</summary>
public sealed class CostReservation
{
    public long Id { get; set; }
    public long? TaskId { get; set; }
    public required string Month { get; set; }
    public long Micros { get; set; }
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>After this the sweeper releases it (the worker holding it died mid-call).</summary>
    public DateTimeOffset ExpiresAt { get; set; }
}

/// <summary>A model call that was not made because it could break a budget.</summary>
public sealed class BudgetExceededException(string message, string budget, decimal limitUsd, decimal spentUsd) : Exception(message)
{
    /// <summary><c>task</c> or <c>monthly</c>.</summary>
    public string Budget { get; } = budget;
    public decimal LimitUsd { get; } = limitUsd;
    public decimal SpentUsd { get; } = spentUsd;

    /// <summary>Outputs of the stopped step to keep (the branch its partial work was pushed to).</summary>
    public IReadOnlyDictionary<string, object?>? Outputs { get; init; }
}

/// <summary>A model call that cannot be priced (unknown model while cost tracking is on), or has no provider.</summary>
public sealed class ModelUnavailableException(string message) : Exception(message);

public static class Money
{
    public const decimal MicrosPerUsd = 1_000_000m;

    /// <summary>Micro-dollars, rounded up so that a reservation never under-counts.</summary>
    public static long ToMicrosCeiling(decimal usd) => (long)Math.Ceiling(usd * MicrosPerUsd);

    public static long ToMicros(decimal usd) => (long)Math.Round(usd * MicrosPerUsd, MidpointRounding.AwayFromZero);

    public static decimal ToUsd(long micros) => micros / MicrosPerUsd;
}
