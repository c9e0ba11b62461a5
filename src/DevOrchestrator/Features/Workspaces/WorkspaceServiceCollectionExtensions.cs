using DevOrchestrator.Abstractions;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DevOrchestrator.Features.Workspaces;

public static class WorkspaceServiceCollectionExtensions
{
    /// <summary>Registers the built-in <c>workspace</c> action set (git worktrees and their pool, the sandbox, the reclaimer of finished executions' worktrees) as an <see cref="IWorkflowActions"/>.</summary>
    public static IServiceCollection AddWorkspaces(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<GitCli>();
        services.TryAddSingleton<Sandbox>();
        services.TryAddSingleton<MirrorLocks>();
        services.TryAddSingleton<WorkspacePool>();
        services.TryAddSingleton<WorkspaceSetup>();
        services.TryAddSingleton<HeldSecrets>();
        services.TryAddSingleton<SecretScanner>();
        services.TryAddSingleton<WorkspaceActions>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IWorkflowActions, WorkspaceActions>(sp => sp.GetRequiredService<WorkspaceActions>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SandboxProbe>());
        if (!services.Any(d => d.ServiceType == typeof(SandboxHealthCheck)))
        {
            services.TryAddSingleton<SandboxHealthCheck>();
            services.AddHealthChecks().AddCheck<SandboxHealthCheck>("sandbox", HealthStatus.Degraded);
        }
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, WorkspaceReclaimer>());
        return services;
    }
}
