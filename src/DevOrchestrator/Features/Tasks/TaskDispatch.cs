using DevOrchestrator.Hosting;
using Hangfire;
using Hangfire.InMemory;
using Hangfire.PostgreSql;

namespace DevOrchestrator.Features.Tasks;

/// <summary>
/// Hangfire is the transport that says "work on task N": in-memory storage on the embedded default, PostgreSQL storage
/// (with LISTEN/NOTIFY long polling) when DATABASE_URL is PostgreSQL. The task table stays the truth: a job only carries
/// the task id, the claim in <see cref="TaskJob"/> decides who runs it, and <see cref="TaskSweeper"/> re-enqueues what a
/// crash lost. The storage is built per host (not Hangfire's static JobStorage.Current) so that several hosts can share
/// one process in tests.
/// </summary>
public static class TaskDispatch
{
    public const string Queue = "tasks";

    public static IServiceCollection AddTaskDispatch(this IServiceCollection services, DevOrchestratorSettings settings, ServiceRole role)
    {
        if (settings.RedisUrl is { Length: > 0 } redisUrl)
        {
            services.AddSingleton<StackExchange.Redis.IConnectionMultiplexer>(_ => StackExchange.Redis.ConnectionMultiplexer.Connect(RedisUrls.ToConfiguration(redisUrl)));
            services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded);
        }

        services.AddSingleton<JobStorage>(sp => CreateStorage(settings, sp));
        services.AddSingleton<JobActivator>(sp => new Hangfire.AspNetCore.AspNetCoreJobActivator(sp.GetRequiredService<IServiceScopeFactory>()));
        services.AddSingleton<IBackgroundJobClient>(sp => new BackgroundJobClient(sp.GetRequiredService<JobStorage>()));

        // Registers the dashboard's services; the storage, activator and client above win over its global defaults.
        services.AddHangfire(c => c.SetDataCompatibilityLevel(CompatibilityLevel.Version_180).UseRecommendedSerializerSettings());
        services.AddScoped<TaskQueue>();
        services.AddSingleton<RunningTasks>();
        services.AddSingleton<WorkerIdentity>();

        if (role.RunsWorkers())
        {
            services.AddScoped<TaskJob>();
            services.AddHostedService(sp => sp.GetRequiredService<RunningTasks>());
            services.AddHostedService<TaskSweeper>();
            services.AddHostedService(sp => new HangfireServerHost(sp.GetRequiredService<JobStorage>(), sp.GetRequiredService<JobActivator>(), settings, sp.GetRequiredService<WorkerIdentity>()));
        }

        return services;
    }

    /// <summary>The Hangfire dashboard for operators at <c>/hangfire</c> (local requests only).</summary>
    public static void MapTaskDispatchDashboard(this WebApplication app)
    {
        app.UseHangfireDashboard("/hangfire", new DashboardOptions { DisplayStorageConnectionString = false, DashboardTitle = "DevOrchestrator jobs" }, app.Services.GetRequiredService<JobStorage>());
    }

    private static JobStorage CreateStorage(DevOrchestratorSettings settings, IServiceProvider services)
    {
        if (settings.RedisUrl is { Length: > 0 })
        {
            return new Hangfire.Redis.StackExchange.RedisStorage(
                services.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>(),
                new Hangfire.Redis.StackExchange.RedisStorageOptions
                {
                    Prefix = "{" + settings.RedisKeyPrefix.TrimEnd(':') + "}:hangfire:",
                    Db = RedisUrls.ToConfiguration(settings.RedisUrl).DefaultDatabase ?? 0,
                    // Short: a job fetched by a worker that then died reappears soon. A long run re-delivered while it
                    // still runs is harmless: the claim in TaskJob refuses a task whose lease is alive.
                    InvisibilityTimeout = TimeSpan.FromMinutes(2),
                });
        }

        if (!settings.UsesPostgres)
        {
            return new InMemoryStorage(new InMemoryStorageOptions { MaxExpirationTime = TimeSpan.FromHours(1) });
        }

        // Its own Npgsql pool (pools are per connection string): busy agents holding EF's connections must not leave the
        // queue without one (it was seen to stall for 15 s with 500 agents sharing one pool).
        var connectionString = new Npgsql.NpgsqlConnectionStringBuilder(DatabaseUrls.ToNpgsqlConnectionString(settings.DatabaseUrl!))
        {
            ApplicationName = "devorch-queue",
        }.ConnectionString;
        return new PostgreSqlStorage(
            new Hangfire.PostgreSql.Factories.NpgsqlConnectionFactory(connectionString, new PostgreSqlStorageOptions()),
            new PostgreSqlStorageOptions
            {
                SchemaName = "hangfire",
                PrepareSchemaIfNecessary = true,
                EnableLongPolling = true,
                QueuePollInterval = TimeSpan.FromSeconds(5),
                DistributedLockTimeout = TimeSpan.FromMinutes(1),
                // See the Redis storage above: re-delivery of a fetched job is harmless, losing it for 30 minutes is not.
                InvisibilityTimeout = TimeSpan.FromMinutes(2),
            });
    }
}

/// <summary>Runs the Hangfire server of a worker for the lifetime of the host.</summary>
internal sealed class HangfireServerHost(JobStorage storage, JobActivator activator, DevOrchestratorSettings settings, WorkerIdentity identity) : IHostedService, IDisposable
{
    private BackgroundJobServer? _server;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _server = new BackgroundJobServer(
            new BackgroundJobServerOptions
            {
                ServerName = identity.Id,
                WorkerCount = settings.MaxWorkers,
                Queues = [TaskDispatch.Queue, "default"],
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

/// <summary>This process's name as a worker: host, pid and a random suffix.</summary>
public sealed class WorkerIdentity
{
    public string Id { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
}

/// <summary>Redis carries only the job queue: when it is down, tasks wait (the sweeper re-enqueues them), so it degrades rather than fails the service.</summary>
internal sealed class RedisHealthCheck(StackExchange.Redis.IConnectionMultiplexer redis) : Microsoft.Extensions.Diagnostics.HealthChecks.IHealthCheck
{
    public async Task<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult> CheckHealthAsync(
        Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var latency = await redis.GetDatabase().PingAsync().WaitAsync(TimeSpan.FromSeconds(3), cancellationToken);
            return Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy(null, new Dictionary<string, object> { ["latency_ms"] = Math.Round(latency.TotalMilliseconds, 2) });
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
        {
            return new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult(context.Registration.FailureStatus, $"cannot reach Redis: {ex.GetType().Name}");
        }
    }
}
