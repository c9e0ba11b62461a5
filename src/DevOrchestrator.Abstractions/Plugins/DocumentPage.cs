namespace DevOrchestrator.Abstractions.Plugins;

public sealed record DocumentPage(string Id, string Title, int Version, string? Url, bool Created);
