namespace DevOrchestrator.Features.Costs;

/// <summary>
/// A model's prices in US dollars per million tokens, and its context window in tokens. Cache writes and reads are
/// priced separately (Anthropic: writes 1.25× input, reads 0.1×; OpenAI: cached input at its own rate, no write charge).
/// </summary>
public sealed class ModelPrice
{
    [ConfigurationKeyName("input")] public decimal Input { get; set; }
    [ConfigurationKeyName("output")] public decimal Output { get; set; }
    [ConfigurationKeyName("cache_write")] public decimal CacheWrite { get; set; }
    [ConfigurationKeyName("cache_read")] public decimal CacheRead { get; set; }
    [ConfigurationKeyName("context_window")] public int ContextWindow { get; set; } = 128_000;

    public static ModelPrice Of(decimal input, decimal output, decimal cacheWrite, decimal cacheRead, int contextWindow) =>
        new() { Input = input, Output = output, CacheWrite = cacheWrite, CacheRead = cacheRead, ContextWindow = contextWindow };

    /// <summary>The dollars of a call with these token counts (input excludes the cached tokens).</summary>
    public decimal Cost(long input, long output, long cacheWrite, long cacheRead) =>
        (input * Input + output * Output + cacheWrite * CacheWrite + cacheRead * CacheRead) / 1_000_000m;

    /// <summary>The most a call can cost: every input token at the dearest input rate, and the full output allowance.</summary>
    public decimal WorstCase(long input, long maxOutput) =>
        (input * Math.Max(Input, Math.Max(CacheWrite, CacheRead)) + maxOutput * Output) / 1_000_000m;
}
