namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>
/// A model provider. The agents reach models through <c>Microsoft.Extensions.AI.IChatClient</c>; this contract only
/// puts the provider in the registry (listing, configuration, health).
/// </summary>
public interface IAiProviderPlugin : IPlugin;
