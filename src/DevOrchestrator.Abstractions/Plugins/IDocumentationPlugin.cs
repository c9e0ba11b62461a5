namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>A documentation space (Confluence, Notion…).</summary>
public interface IDocumentationPlugin : IPlugin
{
    /// <summary>
    /// Creates the page titled <see cref="DocumentPageDraft.Title"/> in the space, or, when a page with that title
    /// exists there, updates it with the next version number (never a second page of the same title).
    /// </summary>
    Task<DocumentPage> CreateOrUpdatePageAsync(DocumentPageDraft page, CancellationToken cancellationToken);
}
