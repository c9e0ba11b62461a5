namespace DevOrchestrator.Features.Workspaces;

/// <summary>
/// What the secret scan found (<paramref name="Findings"/>, after the allow-list), how many hits the allow-list let
/// through, and the files scanned only up to the size cap (<c>SECRET_SCAN_MAX_FILE_BYTES</c> of added text).
/// </summary>
public sealed record SecretScanResult(IReadOnlyList<SecretFinding> Findings, int Allowed, IReadOnlyList<string> TruncatedFiles)
{
    public static SecretScanResult Nothing { get; } = new([], 0, []);
}
