using DevOrchestrator.Features.Projects;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace DevOrchestrator.Features.Webhooks;

public static class IntakeServiceCollectionExtensions
{
    /// <summary>
    /// Registers the intake: turning vendor events (webhooks, the Jira poll on workers) into tasks, and the sync of a
    /// project's plan to its tracker.
    /// </summary>
    public static IServiceCollection AddIntake(this IServiceCollection services, bool runsWorkers)
    {
        services.TryAddScoped<TaskIntake>();
        services.TryAddScoped<JiraIntakePoll>();
        services.TryAddScoped<PlanTrackerSync>();
        if (runsWorkers)
        {
            services.AddHostedService<JiraIntakeSchedule>();
        }

        return services;
    }
}
