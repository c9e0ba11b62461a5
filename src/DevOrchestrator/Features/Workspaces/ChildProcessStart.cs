namespace DevOrchestrator.Features.Workspaces;

/// <summary>How to start a child process: program, arguments (never one concatenated string), and its whole environment.</summary>
public sealed class ChildProcessStart
{
    public required string FileName { get; init; }
    public IReadOnlyList<string> Arguments { get; init; } = [];
    public string? WorkingDirectory { get; init; }

    /// <summary>The child's complete environment: nothing of this process's environment is inherited.</summary>
    public required IReadOnlyDictionary<string, string> Environment { get; init; }
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Bytes kept of stdout and of stderr each (head and tail; the middle is dropped and noted).</summary>
    public int OutputLimitBytes { get; init; } = 1_000_000;

    /// <summary>Start the child in its own session (<c>setsid</c>), so that the whole group can be killed.</summary>
    public bool NewSession { get; init; } = true;
}
