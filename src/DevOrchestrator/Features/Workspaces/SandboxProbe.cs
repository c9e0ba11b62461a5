using DevOrchestrator.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DevOrchestrator.Features.Workspaces;

/// <summary>
/// Checks at start, in processes that run workers, whether bubblewrap works here (a trial run), so that the mode is
/// logged once and SANDBOX_MODE=bubblewrap on a machine where it cannot work fails the start instead of the first task.
/// </summary>
internal sealed class SandboxProbe(Sandbox sandbox, IServiceProvider services) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (services.GetService<ServeOptions>() is { } serve && !serve.Role.RunsWorkers())
        {
            return;
        }

        await sandbox.GetModeAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// <c>sandbox</c> in <c>/health</c>: healthy with bubblewrap; degraded, with the reason, when commands run as plain
/// processes (the fallback hides no file and no other process's environment: docs/workflows.md, The sandbox).
/// </summary>
internal sealed class SandboxHealthCheck(Sandbox sandbox) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        string mode;
        try
        {
            mode = await sandbox.GetModeAsync(cancellationToken);
        }
        catch (InvalidOperationException ex)
        {
            return HealthCheckResult.Unhealthy(ex.Message, data: new Dictionary<string, object> { ["mode"] = Sandbox.BubblewrapMode });
        }

        var data = new Dictionary<string, object> { ["mode"] = mode };
        return mode == Sandbox.BubblewrapMode
            ? HealthCheckResult.Healthy(null, data)
            : HealthCheckResult.Degraded(
                $"commands run as plain processes ({sandbox.FallbackReason}): they can read the service's files (DATA_DIR, WORKSPACES_DIR, its home) and other processes' environment, and reach the network",
                data: data);
    }
}
