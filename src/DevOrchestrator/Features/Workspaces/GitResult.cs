namespace DevOrchestrator.Features.Workspaces;

public sealed record GitResult(int ExitCode, string Stdout, string Stderr)
{
    public string Output => Stdout.Trim();
}
