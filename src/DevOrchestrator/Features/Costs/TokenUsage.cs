namespace DevOrchestrator.Features.Costs;

/// <summary>The tokens a call used, split the way they are priced.</summary>
public readonly record struct TokenUsage(long Input, long Output, long CacheWrite, long CacheRead)
{
    public long Total => Input + Output + CacheWrite + CacheRead;
}
