using System.Collections.Concurrent;
using DevOrchestrator.Abstractions.Plugins;

namespace DevOrchestrator.Features.Plugins;

/// <summary>The last probe of each plugin, reused for 60 seconds.</summary>
public sealed class PluginProbeCache
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);
    private readonly ConcurrentDictionary<string, (DateTimeOffset At, Abstractions.Plugins.PluginHealth Health)> _last = new(StringComparer.Ordinal);

    public async Task<Abstractions.Plugins.PluginHealth> ProbeAsync(IPlugin plugin, TimeProvider timeProvider, CancellationToken cancellationToken, bool fresh = false)
    {
        var key = plugin.Type + "/" + plugin.Name;
        var now = timeProvider.GetUtcNow();
        if (!fresh && _last.TryGetValue(key, out var last) && now - last.At < Lifetime)
        {
            return last.Health;
        }

        Abstractions.Plugins.PluginHealth health;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_timeout);
        try
        {
            health = await plugin.CheckHealthAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            health = Abstractions.Plugins.PluginHealth.Failed($"no answer within {s_timeout.TotalSeconds:0}s");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            health = Abstractions.Plugins.PluginHealth.Failed(ex is PluginException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}");
        }

        _last[key] = (now, health);
        return health;
    }
}
