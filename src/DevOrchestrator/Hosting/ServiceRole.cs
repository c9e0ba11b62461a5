namespace DevOrchestrator.Hosting;

/// <summary>What one <c>devorch serve</c> process runs.</summary>
public enum ServiceRole
{
    /// <summary>API, workers and dashboard in one process (the embedded default).</summary>
    All,

    /// <summary>HTTP API only: stores tasks and enqueues jobs.</summary>
    Api,

    /// <summary>Workers only (still serving health and metrics).</summary>
    Worker,
}
