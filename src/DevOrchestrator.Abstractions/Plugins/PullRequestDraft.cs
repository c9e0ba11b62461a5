namespace DevOrchestrator.Abstractions.Plugins;

public sealed record PullRequestDraft(string RepositoryUrl, string Branch, string BaseBranch, string Title, string Body, bool Draft = false);
