namespace DevOrchestrator.Hosting;

public static class ServiceRoles
{
    public static bool RunsApi(this ServiceRole role) => role is ServiceRole.All or ServiceRole.Api;

    public static bool RunsWorkers(this ServiceRole role) => role is ServiceRole.All or ServiceRole.Worker;
}
