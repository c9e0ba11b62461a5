namespace DevOrchestrator.Features.Agents;

/// <summary>A plan, the model that made it and what its call cost.</summary>
public sealed record PlanningResult(ProjectPlan Plan, string Model, decimal CostUsd);
