using System.Text.RegularExpressions;

namespace DevOrchestrator.Features.Workspaces;

/// <summary>
/// The repository's allow-list of secret-scan false positives, <c>.devorch/secret-scan-allow</c> as it is on the base
/// branch (a change to it in the task's own work does not apply): one entry a line — a finding's 64-hex-digit
/// fingerprint, or a path glob (<c>*</c>, <c>**</c>, <c>?</c>) whose files are not scanned for known formats. <c>#</c>
/// starts a comment. A value the service itself holds is let through only by its line's fingerprint, never by a path.
/// </summary>
public sealed partial class SecretScanAllowList
{
    public const string FilePath = ".devorch/secret-scan-allow";

    public static SecretScanAllowList Empty { get; } = new([], []);

    private readonly HashSet<string> _fingerprints;
    private readonly List<Regex> _paths;

    private SecretScanAllowList(HashSet<string> fingerprints, List<Regex> paths)
    {
        _fingerprints = fingerprints;
        _paths = paths;
    }

    public int FingerprintCount => _fingerprints.Count;

    public int PathCount => _paths.Count;

    public static SecretScanAllowList Parse(string? text)
    {
        var fingerprints = new HashSet<string>(StringComparer.Ordinal);
        var paths = new List<Regex>();
        foreach (var raw in (text ?? string.Empty).Split('\n'))
        {
            var hash = raw.IndexOf('#', StringComparison.Ordinal);
            var entry = (hash >= 0 ? raw[..hash] : raw).Trim();
            if (entry.Length == 0)
            {
                continue;
            }

            if (Fingerprint().IsMatch(entry))
            {
                fingerprints.Add(entry.ToLowerInvariant());
            }
            else
            {
                paths.Add(PathGlob.ToRegex(entry.TrimStart('/'), ignoreCase: false));
            }
        }

        return new SecretScanAllowList(fingerprints, paths);
    }

    /// <summary>
    /// Whether <paramref name="finding"/> is a known false positive: its fingerprint is listed, or (except for a value of
    /// the service's own, <see cref="SecretRules.ServiceSecret"/>) its path matches a glob.
    /// </summary>
    public bool Allows(SecretFinding finding) =>
        _fingerprints.Contains(finding.Fingerprint) || (finding.Rule != SecretRules.ServiceSecret && _paths.Any(p => p.IsMatch(finding.File)));

    [GeneratedRegex("^[0-9A-Fa-f]{64}$")]
    private static partial Regex Fingerprint();
}
