namespace DevOrchestrator.Features.Agents;

/// <summary>The provider and model a call goes to.</summary>
public sealed record ModelTarget(string Provider, string Model);
