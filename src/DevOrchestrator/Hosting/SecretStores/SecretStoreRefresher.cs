namespace DevOrchestrator.Hosting.SecretStores;

/// <summary>
/// Reads each secret store again on its interval. A change replaces the store's configuration layer and reloads the
/// configuration (the plugins' settings follow at their next call); a failed read keeps the values read last and logs
/// why — never a value.
/// </summary>
public sealed partial class SecretStoreRefresher(SecretStoreSet stores, TimeProvider timeProvider, ILogger<SecretStoreRefresher> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(stores.Stores.Select(store => RefreshLoopAsync(store, stoppingToken)));

    private async Task RefreshLoopAsync(SecretStoreConfiguration layer, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(layer.Store.RefreshInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await RefreshAsync(layer, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RefreshAsync(SecretStoreConfiguration layer, CancellationToken stoppingToken)
    {
        try
        {
            var previous = layer.Version;
            var changed = layer.Replace(await layer.Store.ReadAsync(stoppingToken));
            if (changed.Count > 0)
            {
                var names = string.Join(", ", changed);
                LogChanged(logger, layer.SourceName, previous ?? "-", layer.Version ?? "-", names);
            }
        }
        catch (SecretStoreException ex)
        {
            LogRefreshFailed(logger, layer.SourceName, ex.Message);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            // Only the type: an unexpected failure's message is not known to be free of values.
            LogRefreshFailed(logger, layer.SourceName, ex.GetType().Name);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Settings from {Store} changed from version {Previous} to {Version}: {Settings}")]
    private static partial void LogChanged(ILogger logger, string store, string previous, string version, string settings);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Settings from {Store} could not be refreshed; the values read last stay in effect: {Reason}")]
    private static partial void LogRefreshFailed(ILogger logger, string store, string reason);
}
