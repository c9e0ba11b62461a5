namespace DevOrchestrator.Features.Workspaces;

public sealed record SandboxResult(int ExitCode, string Stdout, string Stderr, bool TimedOut, bool OutputTruncated, TimeSpan Duration, string Mode);
