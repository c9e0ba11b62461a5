namespace DevOrchestrator.Data;

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
