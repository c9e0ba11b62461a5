using DevOrchestrator.Hosting;

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
