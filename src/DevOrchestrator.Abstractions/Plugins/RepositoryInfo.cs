namespace DevOrchestrator.Abstractions.Plugins;

public sealed record RepositoryInfo(string Owner, string Name, string FullName, string DefaultBranch, string CloneUrl, string? WebUrl, bool Private);
