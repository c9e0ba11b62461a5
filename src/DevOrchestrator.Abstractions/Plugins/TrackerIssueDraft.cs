namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>A new issue. <see cref="Kind"/> is <c>epic</c> or <c>task</c> (mapped to the tracker's issue types by settings).</summary>
public sealed record TrackerIssueDraft(string ProjectKey, string Title, string? Description, string Kind, string? ParentKey, IReadOnlyList<string> Labels);
