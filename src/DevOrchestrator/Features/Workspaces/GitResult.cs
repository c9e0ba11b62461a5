namespace DevOrchestrator.Features.Workspaces;

/// <summary>What a git command printed; <see cref="OutputTruncated"/> when its output went over the limit and was cut in the middle.</summary>
public sealed record GitResult(int ExitCode, string Stdout, string Stderr, bool OutputTruncated = false)
{
    public string Output => Stdout.Trim();
}
