namespace DevOrchestrator.Abstractions.Plugins;

public sealed record TrackerTransition(string IssueKey, string FromStatus, string ToStatus, bool Changed);
