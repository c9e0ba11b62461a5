namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>A posted message: its channel, its id (Slack's <c>ts</c>), the thread it belongs to, and its link.</summary>
public sealed record ChatMessage(string Channel, string MessageId, string? ThreadId, string? Url, bool Created = true);
