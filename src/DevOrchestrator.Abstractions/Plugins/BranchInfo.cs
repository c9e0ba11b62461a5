namespace DevOrchestrator.Abstractions.Plugins;

public sealed record BranchInfo(string Name, string Sha, bool Created);
