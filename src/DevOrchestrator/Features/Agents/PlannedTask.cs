namespace DevOrchestrator.Features.Agents;

/// <summary>One epic or task of a plan.</summary>
public sealed record PlannedTask(string Title, string Description, IReadOnlyList<string> AcceptanceCriteria);
