using DevOrchestrator.Features.Costs;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Agents;

public static class AgentServiceCollectionExtensions
{
    /// <summary>Registers the model clients, the cost ledger and the agents (the <c>ai_action</c> step type).</summary>
    public static IServiceCollection AddAgents(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ModelPrices>();
        services.TryAddSingleton<CostLedger>();
        services.TryAddSingleton<ModelResilience>();
        services.TryAddSingleton<ModelClients>();
        if (!services.Any(d => d.ServiceType == typeof(Abstractions.Plugins.IAiProviderPlugin)))
        {
            foreach (var name in new[] { ModelClients.Anthropic, ModelClients.OpenAI })
            {
                services.AddSingleton<Abstractions.Plugins.IAiProviderPlugin>(sp =>
                    new ModelProviderPlugin(name, sp.GetRequiredService<IOptions<ModelOptions>>().Value, sp.GetRequiredService<ModelClients>()));
            }

            services.AddSingleton<Abstractions.Plugins.IPlugin>(sp => sp.GetServices<Abstractions.Plugins.IAiProviderPlugin>().First(p => p.Name == ModelClients.Anthropic));
            services.AddSingleton<Abstractions.Plugins.IPlugin>(sp => sp.GetServices<Abstractions.Plugins.IAiProviderPlugin>().First(p => p.Name == ModelClients.OpenAI));
        }

        services.TryAddSingleton<Prompts.PromptTemplates>();
        services.TryAddSingleton<AgentCheckpoints>();
        services.TryAddSingleton<DevelopmentAgent>();
        services.TryAddSingleton<ReviewAgent>();
        services.TryAddSingleton<PlanningAgent>();
        services.TryAddSingleton<AiActionHandler>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Workflows.IWorkflowStepHandler, AiActionHandler>(sp => sp.GetRequiredService<AiActionHandler>()));
        return services;
    }
}
