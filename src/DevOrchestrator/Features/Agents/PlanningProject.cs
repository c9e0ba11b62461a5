namespace DevOrchestrator.Features.Agents;

/// <summary>What the planning agent is told about the project.</summary>
public sealed record PlanningProject(string Name, string? Description, IReadOnlyList<string> TechStack, string? RepositoryUrl);
