namespace DevOrchestrator.Features.Workspaces;

public static class WorkspaceServiceCollectionExtensions
{
    public static IServiceCollection AddWorkspaces(this IServiceCollection services) => services;
}
