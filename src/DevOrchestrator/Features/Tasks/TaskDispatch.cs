using DevOrchestrator.Data;
using DevOrchestrator.Hosting;
using Hangfire;
using Hangfire.InMemory;
using Hangfire.PostgreSql;

namespace DevOrchestrator.Features.Tasks;

/// <summary>
/// Dispatch: the tasks table is the queue (<see cref="TaskDispatcher"/> claims rows, <see cref="TaskWakeup"/> and, on
/// PostgreSQL, <see cref="TaskNotificationListener"/> wake it; decision 0006). Hangfire stays for what it is good at —
/// recurring and delayed background jobs (the Jira poll, a plan's tracker sync) — on the database (PostgreSQL storage,
/// or in-memory on the embedded default), never on the request path of a task. Redis, when set, is not on the task
/// path at all: it is watched by /health. The Hangfire storage is built per host (not the static JobStorage.Current)
/// so that several hosts can share one process in tests.
/// </summary>
public static class TaskDispatch
{
    /// <summary>The Hangfire queue of background jobs (not tasks).</summary>
    public const string BackgroundQueue = "default";

    public static IServiceCollection AddTaskDispatch(this IServiceCollection services, QueueOptions queue, DatabaseOptions database, ServiceRole role)
    {
        if (queue.RedisUrl is { Length: > 0 } redisUrl)
        {
            services.AddSingleton(new RedisConnection(redisUrl, queue.RedisKeyPrefix));
            services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded);
        }

        services.AddSingleton<JobStorage>(sp => CreateStorage(database));
        services.AddSingleton<JobActivator>(sp => new Hangfire.AspNetCore.AspNetCoreJobActivator(sp.GetRequiredService<IServiceScopeFactory>()));
        services.AddSingleton<IBackgroundJobClient>(sp => new BackgroundJobClient(sp.GetRequiredService<JobStorage>()));

        // Registers the dashboard's services; the storage, activator and client above win over its global defaults.
        services.AddHangfire(c => c.SetDataCompatibilityLevel(CompatibilityLevel.Version_180).UseRecommendedSerializerSettings());
        services.AddScoped<TaskLifecycle>();
        services.AddSingleton<ActiveAgentTasks>();
        if (database.UsesPostgres)
        {
            services.AddHostedService<Data.ConnectionBudget>();
        }

        services.AddSingleton<TaskWakeup>();
        services.AddSingleton<RunningTasks>();
        services.AddSingleton<WorkerIdentity>();

        if (role.RunsWorkers())
        {
            services.AddScoped<TaskRun>();
            services.AddSingleton<TaskDispatcher>();
            services.AddHostedService(sp => sp.GetRequiredService<RunningTasks>());
            services.AddHostedService(sp => sp.GetRequiredService<TaskDispatcher>());
            if (database.UsesPostgres)
            {
                services.AddHostedService<TaskNotificationListener>();
            }

            services.AddHostedService(sp => new HangfireServerHost(sp.GetRequiredService<JobStorage>(), sp.GetRequiredService<JobActivator>(), sp.GetRequiredService<WorkerIdentity>()));
        }

        return services;
    }

    /// <summary>The Hangfire dashboard for operators at <c>/hangfire</c> (local requests only).</summary>
    public static void MapTaskDispatchDashboard(this WebApplication app)
    {
        app.UseHangfireDashboard("/hangfire", new DashboardOptions { DisplayStorageConnectionString = false, DashboardTitle = "DevOrchestrator jobs" }, app.Services.GetRequiredService<JobStorage>());
    }

    private static JobStorage CreateStorage(DatabaseOptions database)
    {
        if (!database.UsesPostgres)
        {
            return new InMemoryStorage(new InMemoryStorageOptions { MaxExpirationTime = TimeSpan.FromHours(1) });
        }

        // Its own small Npgsql pool (pools are per connection string), so background jobs never take the API's connections.
        var connectionString = new Npgsql.NpgsqlConnectionStringBuilder(DatabaseUrls.ToNpgsqlConnectionString(database.DatabaseUrl!))
        {
            ApplicationName = "devorch-jobs",
            MaxPoolSize = JobsPoolSize,
        }.ConnectionString;
        return new PostgreSqlStorage(
            new Hangfire.PostgreSql.Factories.NpgsqlConnectionFactory(connectionString, new PostgreSqlStorageOptions()),
            new PostgreSqlStorageOptions
            {
                SchemaName = "hangfire",
                PrepareSchemaIfNecessary = true,
                EnableLongPolling = true,
                QueuePollInterval = TimeSpan.FromSeconds(5),
                DistributedLockTimeout = TimeSpan.FromSeconds(30),
                // A background job fetched by a worker that then died reappears after this; every job is idempotent.
                InvisibilityTimeout = TimeSpan.FromMinutes(5),
            });
    }

    /// <summary>Connections of the Hangfire storage's pool per process (see docs/architecture.md, connection budget).</summary>
    public const int JobsPoolSize = 5;
}

/// <summary>Runs the Hangfire server of a worker for the lifetime of the host.</summary>
internal sealed class HangfireServerHost(JobStorage storage, JobActivator activator, WorkerIdentity identity) : IHostedService, IDisposable
{
    private BackgroundJobServer? _server;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _server = new BackgroundJobServer(
            new BackgroundJobServerOptions
            {
                ServerName = identity.Id,
                WorkerCount = 2,
                Queues = [TaskDispatch.BackgroundQueue],
                Activator = activator,
                SchedulePollingInterval = TimeSpan.FromSeconds(5),
                ShutdownTimeout = TimeSpan.FromSeconds(10),
            },
            storage);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is null)
        {
            return;
        }

        _server.SendStop();
        await _server.WaitForShutdownAsync(cancellationToken);
    }

    public void Dispose() => _server?.Dispose();
}
