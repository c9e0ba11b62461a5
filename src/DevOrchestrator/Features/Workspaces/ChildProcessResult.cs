namespace DevOrchestrator.Features.Workspaces;

public sealed record ChildProcessResult(int ExitCode, string Stdout, string Stderr, bool TimedOut, bool OutputTruncated, TimeSpan Duration);
