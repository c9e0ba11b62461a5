namespace DevOrchestrator.Abstractions.Plugins;

public sealed record TrackerIssuePage(IReadOnlyList<TrackerIssue> Issues, string? NextPageToken);
