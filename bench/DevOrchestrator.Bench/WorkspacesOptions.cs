using System.Globalization;

namespace DevOrchestrator.Bench;

/// <summary>What one run of <c>devorch-bench workspaces</c> does; bounded in size and in time.</summary>
internal sealed record WorkspacesOptions(int Files, int Commits, int Repeat, int Seed, string? WorkDir, bool Keep, double MaxSeconds, IReadOnlyList<string> Approaches)
{
    /// <summary>Every approach, in report order; <c>worktree</c> and <c>clone_file</c> are always measured (the aim compares them).</summary>
    public static readonly IReadOnlyList<string> AllApproaches = ["worktree", "worktree_add", "clone_file", "clone_local", "clone_shallow"];

    public const int MaxFiles = 200_000;
    public const int MaxCommits = 100_000;
    public const int MaxRepeat = 100;
    public const double MaxMaxSeconds = 3600;

    /// <summary>Every problem with the options, each naming the option.</summary>
    public List<string> Validate()
    {
        var problems = new List<string>();
        if (Files is < 1 or > MaxFiles)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"--files must be between 1 and {MaxFiles}."));
        }

        if (Commits is < 1 or > MaxCommits)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"--commits must be between 1 and {MaxCommits}."));
        }

        if (Repeat is < 1 or > MaxRepeat)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"--repeat must be between 1 and {MaxRepeat}."));
        }

        if (MaxSeconds is <= 0 or > MaxMaxSeconds)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"--max-seconds must be more than 0 and at most {MaxMaxSeconds}."));
        }

        var unknown = Approaches.Except(AllApproaches, StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
        {
            problems.Add($"--approaches: unknown {string.Join(", ", unknown)}; choose among {string.Join(", ", AllApproaches)}.");
        }

        if (!Approaches.Contains("worktree") || !Approaches.Contains("clone_file"))
        {
            problems.Add("--approaches must include worktree and clone_file (the aim compares them).");
        }

        if (WorkDir is not null && Directory.Exists(WorkDir) && Directory.EnumerateFileSystemEntries(WorkDir).Any())
        {
            problems.Add($"--work-dir {WorkDir} must be empty or not exist yet (everything in it is deleted at the end).");
        }

        return problems;
    }
}
