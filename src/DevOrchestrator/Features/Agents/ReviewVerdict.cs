namespace DevOrchestrator.Features.Agents;

/// <summary>A review's outcome: <c>approve</c> or <c>changes_requested</c>, with reasons.</summary>
public sealed record ReviewVerdict(string Verdict, IReadOnlyList<string> Reasons, string Summary)
{
    public const string Approve = "approve";
    public const string ChangesRequested = "changes_requested";

    public bool Approved => Verdict == Approve;
}
