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

public static class ServiceRoles
{
    public static bool RunsApi(this ServiceRole role) => role is ServiceRole.All or ServiceRole.Api;

    public static bool RunsWorkers(this ServiceRole role) => role is ServiceRole.All or ServiceRole.Worker;
}

/// <summary>A setting that stops the process at start; the message names the variable.</summary>
public sealed class SettingsException(IReadOnlyList<string> errors)
    : Exception("Invalid settings:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => "  - " + e)))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
