namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>A setting a plugin reads. <see cref="Secret"/> values are write-only in the API and never logged.</summary>
public sealed record PluginSetting(string Key, string Description, bool Required = false, bool Secret = false, string? Default = null);
