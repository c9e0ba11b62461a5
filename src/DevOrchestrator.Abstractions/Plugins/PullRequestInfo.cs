namespace DevOrchestrator.Abstractions.Plugins;

public sealed record PullRequestInfo(int Number, string Url, string State, string Branch, string BaseBranch, string Title, bool Created);
