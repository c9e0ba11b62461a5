using System.Security.Cryptography;
using System.Text;

namespace DevOrchestrator.Features.Workspaces;

/// <summary>
/// One hit of the secret scan: where (<paramref name="File"/>:<paramref name="Line"/>, and the commit for a push) and
/// which rule — never the value. <paramref name="Fingerprint"/> is the SHA-256 of rule, path and the line's text, what
/// the allow-list names to let a known false positive through without writing the value down.
/// </summary>
public sealed record SecretFinding(string File, int Line, string Rule, string Fingerprint, string? Commit = null)
{
    /// <summary><c>path:line rule</c> (with the short commit when found in one), as reported to the task.</summary>
    public string Location => $"{File}:{Line} {Rule}" + (Commit is { Length: >= 7 } c ? $" (commit {c[..7]})" : string.Empty);

    /// <summary>Lower-case hex SHA-256 of <c>rule \n path \n trimmed line</c>.</summary>
    public static string FingerprintOf(string rule, string file, string lineText) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{rule}\n{file}\n{lineText.Trim()}")));
}
