namespace DevOrchestrator.Features.Costs;

public static class Money
{
    public const decimal MicrosPerUsd = 1_000_000m;

    /// <summary>Micro-dollars, rounded up so that a reservation never under-counts.</summary>
    public static long ToMicrosCeiling(decimal usd) => (long)Math.Ceiling(usd * MicrosPerUsd);

    public static long ToMicros(decimal usd) => (long)Math.Round(usd * MicrosPerUsd, MidpointRounding.AwayFromZero);

    public static decimal ToUsd(long micros) => micros / MicrosPerUsd;
}
