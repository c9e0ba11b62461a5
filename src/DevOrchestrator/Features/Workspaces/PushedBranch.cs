namespace DevOrchestrator.Features.Workspaces;

/// <summary>A branch pushed to the project's repository at a commit (the record of the push).</summary>
public sealed record PushedBranch(string Branch, string Sha);
