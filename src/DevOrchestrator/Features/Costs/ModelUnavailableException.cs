namespace DevOrchestrator.Features.Costs;

/// <summary>A model call that cannot be priced (unknown model while cost tracking is on), or has no provider.</summary>
public sealed class ModelUnavailableException(string message) : Exception(message);
