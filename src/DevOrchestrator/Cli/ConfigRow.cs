namespace DevOrchestrator.Cli;

/// <summary>One line of <c>devorch config show</c>.</summary>
public sealed record ConfigRow(string Key, string Value, string Source);
