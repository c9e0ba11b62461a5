namespace DevOrchestrator.Abstractions.Plugins;

public sealed record ChatMessageDraft(string Channel, string Text, string? ThreadId = null);
