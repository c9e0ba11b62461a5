namespace DevOrchestrator.Features.Agents;

/// <summary>The roles agents play; each has its own model setting.</summary>
public static class AgentRoles
{
    public const string Development = "development";
    public const string Planning = "planning";
    public const string Review = "review";
    public const string Summary = "summary";

    public static readonly IReadOnlyList<string> All = [Development, Planning, Review, Summary];
}
