namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>A page to write. <see cref="Body"/> is in the vendor's storage format (XHTML for Confluence).</summary>
public sealed record DocumentPageDraft(string SpaceKey, string? ParentId, string Title, string Body);
