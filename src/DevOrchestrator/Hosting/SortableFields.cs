namespace DevOrchestrator.Hosting;

/// <summary>Endpoint metadata of a list: the fields its <c>sort</c> parameter takes (the first is the default), for the OpenAPI document.</summary>
public sealed record SortableFields(IReadOnlyList<string> Fields);
