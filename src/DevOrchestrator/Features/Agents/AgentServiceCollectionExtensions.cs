using DevOrchestrator.Features.Costs;
using Microsoft.Extensions.DependencyInjection.Extensions;

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
        services.TryAddSingleton<AgentCheckpoints>();
        services.TryAddSingleton<DevelopmentAgent>();
        services.TryAddSingleton<ReviewAgent>();
        services.TryAddSingleton<PlanningAgent>();
        services.TryAddSingleton<AiActionHandler>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Workflows.IWorkflowStepHandler, AiActionHandler>(sp => sp.GetRequiredService<AiActionHandler>()));
        return services;
    }
}
