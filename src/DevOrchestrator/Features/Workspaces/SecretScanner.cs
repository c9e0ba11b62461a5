using System.Globalization;
using DevOrchestrator.Abstractions;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Workspaces;

/// <summary>
/// The secret scan before every commit and push a workflow makes (<see cref="WorkspaceActions"/>): the added lines of
/// the staged change (untracked files included, as <c>git add -A</c> staged them) before a commit, and of every commit
/// not yet on the remote before a push (commits an agent's own command made included). Binary files are skipped; a file
/// is scanned up to <c>SECRET_SCAN_MAX_FILE_BYTES</c> of added text. Rules: <see cref="SecretRules"/>; false positives:
/// <see cref="SecretScanAllowList"/> read from the base branch. A finding names file, line and rule, never the value.
/// </summary>
public sealed partial class SecretScanner(IOptions<WorkspaceOptions> options, GitCli git, HeldSecrets heldSecrets, ILogger<SecretScanner> logger)
{
    private static readonly string[] s_diffFormat = ["-U0", "--no-color", "--no-ext-diff", "-M", "--src-prefix=a/", "--dst-prefix=b/"];

    public bool Enabled => options.Value.SecretScanEnabled;

    /// <summary>Scans what <c>git commit</c> would record now (the index against HEAD).</summary>
    public async Task<SecretScanResult> ScanStagedAsync(string worktree, string baseRef, CancellationToken cancellationToken)
    {
        var allow = await ReadAllowListAsync(worktree, baseRef, cancellationToken);
        return await ScanDiffAsync(worktree, ["diff", "--cached", .. s_diffFormat], ["diff", "--cached", "--name-only", "-z", "-M"], allow, heldSecrets.Values(), null, cancellationToken);
    }

    /// <summary>
    /// Scans the worktree's whole uncommitted change as the commit step would stage it (<c>git add -A</c>, protected
    /// files left out), then puts the index back: what the development agent is told about before the commit.
    /// </summary>
    public async Task<SecretScanResult> ScanWorktreeAsync(string worktree, string baseRef, CancellationToken cancellationToken)
    {
        await git.RunAsync(worktree, ["add", "-A"], cancellationToken);
        try
        {
            var staged = (await git.RunAsync(worktree, ["diff", "--cached", "--name-only", "-z"], cancellationToken)).Stdout.Split('\0', StringSplitOptions.RemoveEmptyEntries);
            var protectedFiles = staged.Where(WorkspaceActions.IsProtected).ToList();
            if (protectedFiles.Count > 0)
            {
                await git.RunAsync(worktree, ["reset", "-q", "--", .. protectedFiles], cancellationToken);
            }

            return await ScanStagedAsync(worktree, baseRef, cancellationToken);
        }
        finally
        {
            await git.RunAsync(worktree, ["reset", "-q"], cancellationToken, allowFailure: true);
        }
    }

    /// <summary>The base branch as fetched (the allow-list is read from it): the prepare step's, else the project's default branch.</summary>
    public static string BaseRef(WorkflowActionContext context)
    {
        var prepared = context.StepOutputs.Values.LastOrDefault(o => o.ContainsKey("base_sha") && o.ContainsKey("worktree"));
        var baseBranch = prepared is not null && prepared.TryGetValue("base_branch", out var b) && b?.ToString() is { Length: > 0 } named
            ? named
            : context.Project?.DefaultBranch ?? "main";
        return $"refs/remotes/origin/{baseBranch}";
    }

    /// <summary>Scans each commit of HEAD that no remote-tracking branch has (what a push would send).</summary>
    public async Task<SecretScanResult> ScanUnpushedAsync(string worktree, string baseRef, CancellationToken cancellationToken)
    {
        var allow = await ReadAllowListAsync(worktree, baseRef, cancellationToken);
        var held = heldSecrets.Values();
        var commits = (await git.RunAsync(worktree, ["rev-list", "--reverse", "HEAD", "--not", "--remotes"], cancellationToken)).Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var findings = new List<SecretFinding>();
        var truncated = new List<string>();
        var allowed = 0;
        foreach (var commit in commits)
        {
            string[] show = ["diff-tree", "-p", "--no-commit-id", "--root", "-m", "--first-parent", .. s_diffFormat, commit];
            string[] names = ["diff-tree", "-r", "--name-only", "-z", "--no-commit-id", "--root", "-m", "--first-parent", commit];
            var result = await ScanDiffAsync(worktree, show, names, allow, held, commit, cancellationToken);
            findings.AddRange(result.Findings);
            truncated.AddRange(result.TruncatedFiles);
            allowed += result.Allowed;
        }

        return new SecretScanResult(findings, allowed, [.. truncated.Distinct(StringComparer.Ordinal)]);
    }

    /// <summary>
    /// The added lines of a diff (<c>-U0</c>, prefixes a/ and b/) checked against every rule: what is left after the
    /// allow-list, how many the allow-list let through, and the files cut at <paramref name="maxFileBytes"/>.
    /// </summary>
    internal static SecretScanResult Scan(string diff, SecretScanAllowList allow, IReadOnlyCollection<string> heldSecrets, long maxFileBytes, string? commit = null)
    {
        var findings = new List<SecretFinding>();
        var truncated = new List<string>();
        var allowed = 0;
        string? file = null;
        var line = 0;
        var inHunk = false;
        long bytes = 0;
        foreach (var raw in diff.Split('\n'))
        {
            if (inHunk && raw.Length > 0 && raw[0] is '+' or '-' or ' ' or '\\')
            {
                if (raw[0] == '+' && file is not null && bytes <= maxFileBytes)
                {
                    bytes += raw.Length;
                    if (bytes > maxFileBytes)
                    {
                        truncated.Add(file);
                    }
                    else
                    {
                        allowed += CheckLine(raw[1..].TrimEnd('\r'), file, line, commit, allow, heldSecrets, findings);
                    }
                }

                line += raw[0] is '+' or ' ' ? 1 : 0;
                continue;
            }

            inHunk = false;
            if (raw.StartsWith("diff --git ", StringComparison.Ordinal))
            {
                (file, bytes) = (null, 0);
            }
            else if (raw.StartsWith("+++ ", StringComparison.Ordinal))
            {
                file = NewPath(raw[4..].TrimEnd('\r'));
            }
            else if (raw.StartsWith("@@ ", StringComparison.Ordinal))
            {
                (line, inHunk) = (HunkStart(raw), true);
            }
        }

        return new SecretScanResult(findings, allowed, truncated);
    }

    /// <summary>Adds the findings of one added line to <paramref name="findings"/>; returns how many the allow-list let through.</summary>
    private static int CheckLine(string text, string file, int line, string? commit, SecretScanAllowList allow, IReadOnlyCollection<string> heldSecrets, List<SecretFinding> findings)
    {
        var allowed = 0;
        foreach (var rule in SecretRules.Find(text, heldSecrets))
        {
            var finding = new SecretFinding(file, line, rule, SecretFinding.FingerprintOf(rule, file, text), commit);
            if (allow.Allows(finding))
            {
                allowed++;
            }
            else
            {
                findings.Add(finding);
            }
        }

        return allowed;
    }

    /// <summary>The path of a <c>+++ b/PATH</c> header (null for a deleted file).</summary>
    private static string? NewPath(string header)
    {
        var path = header.Length > 1 && header[0] == '"' ? header.Trim('"') : header;
        return path == "/dev/null" ? null : path.StartsWith("b/", StringComparison.Ordinal) ? path[2..] : path;
    }

    private async Task<SecretScanResult> ScanDiffAsync(string worktree, string[] diffArguments, string[] nameArguments, SecretScanAllowList allow,
        IReadOnlyCollection<string> held, string? commit, CancellationToken cancellationToken)
    {
        var max = options.Value.SecretScanMaxFileBytes;
        var whole = await git.RunAsync(worktree, ["-c", "core.quotePath=false", .. diffArguments], cancellationToken);
        if (!whole.OutputTruncated)
        {
            return Scan(whole.Stdout, allow, held, max, commit);
        }

        // Too much for one read: file by file, so that each is scanned up to the cap.
        var names = (await git.RunAsync(worktree, ["-c", "core.quotePath=false", .. nameArguments], cancellationToken)).Stdout
            .Split('\0', StringSplitOptions.RemoveEmptyEntries);
        var findings = new List<SecretFinding>();
        var truncated = new List<string>();
        var allowed = 0;
        foreach (var name in names)
        {
            var one = await git.RunAsync(worktree, ["-c", "core.quotePath=false", .. diffArguments, "--", ":(literal)" + name], cancellationToken);
            var result = Scan(one.Stdout, allow, held, max, commit);
            findings.AddRange(result.Findings);
            truncated.AddRange(result.TruncatedFiles);
            allowed += result.Allowed;
        }

        return new SecretScanResult(findings, allowed, truncated);
    }

    private async Task<SecretScanAllowList> ReadAllowListAsync(string worktree, string baseRef, CancellationToken cancellationToken)
    {
        var shown = await git.RunAsync(worktree, ["cat-file", "-p", $"{baseRef}:{SecretScanAllowList.FilePath}"], cancellationToken, allowFailure: true);
        if (shown.ExitCode != 0)
        {
            return SecretScanAllowList.Empty;
        }

        var allow = SecretScanAllowList.Parse(shown.Stdout);
        LogAllowList(logger, baseRef, allow.FingerprintCount, allow.PathCount);
        return allow;
    }

    /// <summary>The first line number of the new side of a hunk header <c>@@ -a,b +c,d @@</c>.</summary>
    private static int HunkStart(string header)
    {
        var plus = header.IndexOf(" +", StringComparison.Ordinal);
        if (plus < 0)
        {
            return 0;
        }

        var digits = new string([.. header[(plus + 2)..].TakeWhile(char.IsAsciiDigit)]);
        return int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var start) ? start : 0;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Secret scan: the allow-list on {BaseRef} has {Fingerprints} fingerprints and {Paths} path globs")]
    private static partial void LogAllowList(ILogger logger, string baseRef, int fingerprints, int paths);
}
