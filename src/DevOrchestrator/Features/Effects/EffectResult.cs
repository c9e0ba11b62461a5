namespace DevOrchestrator.Features.Effects;

/// <summary>An effect's result, and whether it was done by an earlier attempt (nothing written now).</summary>
public sealed record EffectResult<T>(T Value, bool Reused);
