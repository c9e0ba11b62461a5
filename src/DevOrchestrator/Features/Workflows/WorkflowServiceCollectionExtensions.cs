using Microsoft.Extensions.DependencyInjection.Extensions;

namespace DevOrchestrator.Features.Workflows;

public static class WorkflowServiceCollectionExtensions
{
    public static IServiceCollection AddWorkflows(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<WorkflowValidator>();
        services.TryAddSingleton<WorkflowCatalog>();
        services.TryAddScoped<WorkflowRunner>();
        return services;
    }
}
