namespace DevOrchestrator.Data;

/// <summary>A backup or restore that cannot be done; the message is one line, the exit code 1 (failed) or 2 (bad input).</summary>
public sealed class BackupException(string message, int exitCode) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
