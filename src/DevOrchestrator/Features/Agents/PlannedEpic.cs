namespace DevOrchestrator.Features.Agents;

/// <summary>An epic of a plan and its tasks.</summary>
public sealed record PlannedEpic(string Title, string Description, IReadOnlyList<string> AcceptanceCriteria, IReadOnlyList<PlannedTask> Tasks);
