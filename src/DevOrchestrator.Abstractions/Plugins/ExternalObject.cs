namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>An object created at a vendor (a comment, a message): its id and, where there is one, its web address.</summary>
public sealed record ExternalObject(string Id, string? Url, bool Created = true);
