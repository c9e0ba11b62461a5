namespace DevOrchestrator.Features.Tasks;

/// <summary>This process's name as a worker: host, pid and a random suffix.</summary>
public sealed class WorkerIdentity
{
    public string Id { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
}
