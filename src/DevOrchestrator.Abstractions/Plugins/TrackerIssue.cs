namespace DevOrchestrator.Abstractions.Plugins;

public sealed record TrackerIssue(
    string Key,
    string Id,
    string Title,
    string? Description,
    string Status,
    string? IssueType,
    string? ProjectKey,
    IReadOnlyList<string> Labels,
    string? Url,
    bool Created = false);
