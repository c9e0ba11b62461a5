namespace DevOrchestrator.Features.Agents;

/// <summary>A plan: its epics, and notes on what the parser had to drop or cut to stay within the bounds.</summary>
public sealed record ProjectPlan(IReadOnlyList<PlannedEpic> Epics, IReadOnlyList<string> Notes)
{
    public int TaskCount => Epics.Sum(e => e.Tasks.Count);
}
