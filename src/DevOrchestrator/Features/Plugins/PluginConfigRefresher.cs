namespace DevOrchestrator.Features.Plugins;

/// <summary>Loads the stored plugin configuration at start and every 30 seconds (changes made through other replicas).</summary>
public sealed partial class PluginConfigRefresher(IServiceScopeFactory scopes, TimeProvider timeProvider, ILogger<PluginConfigRefresher> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await RefreshAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await RefreshAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<PluginConfigStore>().RefreshAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Not migrated yet, database down, key changed: keep the environment's settings and say why.
            LogRefreshFailed(logger, ex.GetType().Name, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stored plugin configuration could not be loaded ({Error}: {Detail}); plugins use the environment's settings")]
    private static partial void LogRefreshFailed(ILogger logger, string error, string detail);
}
