using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using DevOrchestrator.Abstractions;
using DevOrchestrator.Features.Workspaces;
using DevOrchestrator.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Bench;

/// <summary>One way of getting a fresh working copy for a task.</summary>
internal sealed record WorkspaceApproach(string Key, string Name);

/// <summary>What was measured for one approach: wall times (ms) in repetition order, and new disk per workspace (KiB).</summary>
internal sealed record ApproachResult(WorkspaceApproach Approach, IReadOnlyList<double> Milliseconds, IReadOnlyList<long> DiskKib)
{
    public Distribution Time => Distribution.Of(Milliseconds);

    public long MedianDiskKib => DiskKib.Order().ElementAt((DiskKib.Count - 1) / 2);
}

/// <summary>
/// Workspace preparation for a task on a large repository: the workspace plugin's <c>prepare</c> when the repository's
/// mirror is already cached and the previous task's worktree was released into the pool (the second and every later
/// task of a project: fetch, then the pooled worktree reset to the new base and moved to the task's path), against what
/// a system without a cache does per task, a fresh <c>git clone</c>. Each repetition first pushes one new commit
/// upstream (so the plugin's fetch has something to fetch and every approach checks out the same new head), then runs
/// every approach once, in an order that rotates from one repetition to the next, each after a <c>sync</c> and with the
/// previous workspace removed (the plugin's: released into the pool with <see cref="WorkspacePool.ReleaseAsync(string, CancellationToken)"/>,
/// as at the end of a task). Timing covers exactly the operation (the plugin call or the git command), not the release,
/// the cleanup or the disk measurement.
/// </summary>
internal sealed class WorkspacesBenchmark
{
    public const double AimRatio = 20;

    private static readonly WorkspaceApproach s_plugin = new("worktree", "worktree recycled from the pool of the cached mirror (`WorkspaceActions` `prepare`)");
    private static readonly WorkspaceApproach s_worktreeAdd = new("worktree_add", "reference: `git worktree add` alone on the mirror (no fetch, no plugin)");
    private static readonly WorkspaceApproach s_cloneFile = new("clone_file", "`git clone file://…` (pack protocol, full history)");
    private static readonly WorkspaceApproach s_cloneLocal = new("clone_local", "`git clone --local PATH` (objects hardlinked)");
    private static readonly WorkspaceApproach s_cloneShallow = new("clone_shallow", "`git clone --depth 1 file://…` (shallow)");
    private static readonly WorkspaceApproach[] s_approaches = [s_plugin, s_worktreeAdd, s_cloneFile, s_cloneLocal, s_cloneShallow];

    // /proc/stat fields counted as busy: user nice system irq softirq steal (not idle, not iowait).
    private static readonly int[] s_busyFields = [1, 2, 3, 6, 7, 8];

    private readonly WorkspacesOptions _options;
    private readonly TextWriter _log;
    private readonly string _root;
    private readonly string _remote;
    private readonly string _url;
    private readonly string _clones;
    private readonly DevOrchestratorOptions _settings;
    private readonly GitCli _git;
    private readonly WorkspaceApproach[] _approaches;
    private readonly Dictionary<string, (List<double> Ms, List<long> Kib)> _samples;
    private readonly List<string> _notes = [];
    private readonly List<double> _releaseMs = [];
    private WorkspacePool? _pool;

    private WorkspacesBenchmark(WorkspacesOptions options, TextWriter log, string root)
    {
        _options = options;
        _approaches = [.. s_approaches.Where(a => options.Approaches.Contains(a.Key))];
        _samples = _approaches.ToDictionary(a => a.Key, _ => (new List<double>(), new List<long>()));
        _log = log;
        _root = root;
        _remote = Path.Combine(root, "remote.git");
        _url = new Uri(_remote).AbsoluteUri;
        _clones = Path.Combine(root, "clones");
        _settings = new DevOrchestratorOptions
        {
            Workspaces = { WorkspacesDir = Path.Combine(root, "workspaces") },
            Workflows = { WorkflowsDir = Path.Combine(root, "workflows") },
            Database = { DatabaseUrl = Path.Combine(root, "devorch.db") },
            Sandbox = { SandboxMode = Sandbox.ProcessMode },
        };
        _git = new GitCli(Options.Create(_settings.Workspaces), TimeProvider.System);
    }

    /// <summary>Runs the whole benchmark in <c>--work-dir</c> (or a new temporary directory), deleted at the end unless <c>--keep</c>.</summary>
    public static async Task<WorkspacesReport> RunAsync(WorkspacesOptions options, TextWriter log, CancellationToken cancellationToken)
    {
        var root = Path.GetFullPath(options.WorkDir ?? Path.Combine(Path.GetTempPath(), "devorch-wsbench-" + Guid.NewGuid().ToString("N")[..12]));
        Directory.CreateDirectory(root);
        try
        {
            return await new WorkspacesBenchmark(options, log, root).RunAsync(cancellationToken);
        }
        finally
        {
            if (options.Keep)
            {
                await log.WriteLineAsync($"devorch-bench: kept {root}");
            }
            else
            {
                TryDelete(root);
            }
        }
    }

    private async Task<WorkspacesReport> RunAsync(CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.UtcNow;
        var quietBefore = await MachineBusyPercentAsync(TimeSpan.FromSeconds(2), cancellationToken);
        var machine = MachineInfo.Describe(_root);
        var gitVersion = (await _git.RunAsync(null, ["--version"], cancellationToken)).Output;

        Log($"generating the repository: {_options.Files:N0} files, {_options.Commits:N0} commits (git fast-import)");
        var clock = Stopwatch.StartNew();
        var repository = await SyntheticRepository.CreateAsync(_remote, _options.Files, _options.Commits, _options.Seed, cancellationToken);
        var generated = clock.Elapsed;
        var packKib = (await DiskKibAsync(cancellationToken, Path.Combine(_remote, "objects")))[0];
        var head = (await _git.RunAsync(_remote, ["rev-parse", "refs/heads/main"], cancellationToken)).Output;
        var objects = (await _git.RunAsync(_remote, ["count-objects", "-v"], cancellationToken)).Output.Split('\n')
            .Select(l => l.Split(':', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.Ordinal);
        Log($"generated in {generated.TotalSeconds:0.0} s: {packKib / 1024.0:0.0} MiB of objects");

        using var sandbox = new Sandbox(Options.Create(_settings.Sandbox), Options.Create(_settings.Workspaces), Options.Create(_settings.Server), TimeProvider.System, NullLogger<Sandbox>.Instance);
        var locks = new MirrorLocks(TimeProvider.System);
        var pool = new WorkspacePool(Options.Create(_settings.Workspaces), _git, locks, TimeProvider.System, NullLogger<WorkspacePool>.Instance);
        var plugin = new WorkspaceActions(Options.Create(_settings.Workspaces), Options.Create(_settings.Sandbox), _git, sandbox, locks, pool, [], NullLogger<WorkspaceActions>.Instance);
        _pool = pool;

        // The project's first task: no mirror yet, so prepare clones it (git clone --mirror) and adds the worktree.
        Log("first task: prepare with no mirror (clone --mirror + worktree)");
        await SyncAsync(cancellationToken);
        var first = Context(1);
        clock.Restart();
        var firstOutputs = await plugin.InvokeAsync("prepare", first, cancellationToken);
        var coldMs = clock.Elapsed.TotalMilliseconds;
        var firstWorktree = (string)firstOutputs["worktree"]!;
        var checkedOut = Directory.EnumerateFiles(firstWorktree, "*", SearchOption.AllDirectories).Count(f => !f.Contains("/.git", StringComparison.Ordinal));
        if (checkedOut != _options.Files || (string?)firstOutputs["base_sha"] != head)
        {
            throw new InvalidOperationException($"the first worktree has {checkedOut} files at {firstOutputs["base_sha"]}, expected {_options.Files} at {head}");
        }

        var checkoutKib = (await DiskKibAsync(cancellationToken, firstWorktree))[0];
        var mirror = plugin.MirrorPath(_url);

        // The first task finishes: its worktree goes into the pool, for the second task to recycle.
        clock.Restart();
        await pool.ReleaseAsync(firstWorktree, cancellationToken);
        var firstReleaseMs = clock.Elapsed.TotalMilliseconds;
        if (pool.PooledWorktrees(mirror).Count != 1)
        {
            throw new InvalidOperationException("the first task's worktree did not go into the pool");
        }

        Log($"first task: {coldMs:0} ms; released into the pool in {firstReleaseMs:0} ms");

        Directory.CreateDirectory(_clones);
        var busyStart = MachineBusySeconds();
        var ownStart = OwnCpuSeconds();
        var measuring = Stopwatch.StartNew();
        var completed = 0;
        try
        {
            for (var rep = 0; rep < _options.Repeat; rep++)
            {
                head = await repository.PushUpstreamAsync(1, cancellationToken);
                for (var i = 0; i < _approaches.Length; i++)
                {
                    var approach = _approaches[(rep + i) % _approaches.Length];
                    var (ms, kib) = await MeasureAsync(approach, plugin, mirror, rep, head, cancellationToken);
                    _samples[approach.Key].Ms.Add(ms);
                    _samples[approach.Key].Kib.Add(kib);
                }

                completed++;
                Log($"repetition {rep + 1}/{_options.Repeat}: " + string.Join(", ", _approaches.Select(a => $"{a.Key} {_samples[a.Key].Ms[^1]:0} ms")));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && completed > 0)
        {
            // Out of time (--max-seconds): report the repetitions that completed, drop the one that was cut short.
            foreach (var (ms, kib) in _samples.Values)
            {
                ms.RemoveRange(completed, ms.Count - completed);
                kib.RemoveRange(completed, kib.Count - completed);
            }

            _notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"**Incomplete:** stopped by --max-seconds {_options.MaxSeconds:0} after {completed} of {_options.Repeat} repetitions; only the completed ones are reported."));
            Log($"out of time after {completed} repetitions");
        }

        if (_releaseMs.Count > 0)
        {
            var release = Distribution.Of(_releaseMs);
            _notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"Release of a finished task's worktree into the pool (`WorkspacePool.ReleaseAsync`: reset --hard, checkout --detach, clean -ffdx, branch -D, the task's state in the mirror forgotten, status check, worktree move, maintenance --auto; not on a task's path, not in the ratio): p50 {release.P50:0} ms, p90 {release.P90:0} ms, max {release.Max:0} ms over {release.Count}; every measured prepare recycled the pooled worktree ({_pool!.Recycled} recycled, {_pool.Removed} removed)."));
        }

        var busyDuring = MachineBusySeconds() - busyStart;
        var ownDuring = OwnCpuSeconds() - ownStart;
        using var finish = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var mirrorKib = (await DiskKibAsync(finish.Token, mirror))[0];
        var results = _approaches.Select(a => new ApproachResult(a, _samples[a.Key].Ms, _samples[a.Key].Kib)).ToList();
        var measuredSeconds = measuring.Elapsed.TotalSeconds;
        if (busyDuring is { } busy && ownDuring is { } own)
        {
            var cores = measuredSeconds * Environment.ProcessorCount / 100;
            _notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"CPU over the {measuredSeconds:0} s of repetitions: this benchmark and its git processes {own / cores:0}% of all {Environment.ProcessorCount} cores, other work on the machine {Math.Max(0, busy - own) / cores:0}% (other work just before the start: {quietBefore:0}%)."));
        }

        return new WorkspacesReport(
            started, _options, machine, gitVersion, generated, repository.Commits, packKib, objects.GetValueOrDefault("size-pack"), checkoutKib,
            mirrorKib, coldMs, results, _notes, AppRevision(), completed);
    }

    private async Task<(double Ms, long Kib)> MeasureAsync(WorkspaceApproach approach, WorkspaceActions plugin, string mirror, int rep, string head, CancellationToken cancellationToken)
    {
        await SyncAsync(cancellationToken);
        var clock = new Stopwatch();
        if (approach == s_plugin)
        {
            var context = Context(2 + rep);
            var recycledBefore = _pool!.Recycled;
            clock.Start();
            var outputs = await plugin.InvokeAsync("prepare", context, cancellationToken);
            clock.Stop();
            if ((string?)outputs["base_sha"] != head)
            {
                throw new InvalidOperationException($"prepare checked out {outputs["base_sha"]}, not the new upstream head {head}");
            }

            if (_pool.Recycled != recycledBefore + 1)
            {
                throw new InvalidOperationException("prepare did not recycle the pooled worktree");
            }

            var worktree = (string)outputs["worktree"]!;
            var kib = await WorktreeKibAsync(worktree, cancellationToken);

            // The task finishes: back into the pool (timed apart; it is not on any task's path).
            var release = Stopwatch.StartNew();
            await _pool.ReleaseAsync(worktree, cancellationToken);
            _releaseMs.Add(release.Elapsed.TotalMilliseconds);
            return (clock.Elapsed.TotalMilliseconds, kib);
        }

        if (approach == s_worktreeAdd)
        {
            var path = Path.Combine(_clones, $"worktree-add-{rep}");
            var branch = $"bench/worktree-add-{rep}";
            clock.Start();
            await _git.RunAsync(mirror, ["worktree", "add", "-q", "-B", branch, path, "refs/remotes/origin/main"], cancellationToken);
            clock.Stop();
            var kib = await WorktreeKibAsync(path, cancellationToken);
            await _git.RunAsync(mirror, ["worktree", "remove", "--force", path], cancellationToken);
            await _git.RunAsync(mirror, ["branch", "-D", branch], cancellationToken);
            return (clock.Elapsed.TotalMilliseconds, kib);
        }

        var dest = Path.Combine(_clones, $"{approach.Key}-{rep}");
        string[] args = approach.Key switch
        {
            "clone_file" => ["clone", "-q", "--", _url, dest],
            "clone_local" => ["clone", "-q", "--local", "--", _remote, dest],
            "clone_shallow" => ["clone", "-q", "--depth", "1", "--", _url, dest],
            _ => throw new InvalidOperationException(approach.Key),
        };
        clock.Start();
        await _git.RunAsync(null, args, cancellationToken);
        clock.Stop();
        var cloned = (await _git.RunAsync(dest, ["rev-parse", "HEAD"], cancellationToken)).Output;
        if (cloned != head)
        {
            throw new InvalidOperationException($"{approach.Key} checked out {cloned}, not {head}");
        }

        // With --local the clone's objects are hardlinks to the remote's: count only the blocks the clone added.
        var sizes = approach == s_cloneLocal ? await DiskKibAsync(cancellationToken, _remote, dest) : await DiskKibAsync(cancellationToken, dest);
        TryDelete(dest);
        return (clock.Elapsed.TotalMilliseconds, sizes[^1]);
    }

    /// <summary>A worktree's files plus its administrative directory in the mirror (<c>worktrees/NAME</c>: index, HEAD).</summary>
    private static async Task<long> WorktreeKibAsync(string worktree, CancellationToken cancellationToken)
    {
        var gitFile = await File.ReadAllTextAsync(Path.Combine(worktree, ".git"), cancellationToken);
        var admin = gitFile.Trim()["gitdir:".Length..].Trim();
        var sizes = await DiskKibAsync(cancellationToken, worktree, admin);
        return sizes.Sum();
    }

    private WorkflowActionContext Context(long taskId) => new()
    {
        Task = new WorkflowTaskInfo(taskId, $"Benchmark task {taskId}", null, null, "api", null),
        Project = new WorkflowProjectInfo(1, "bench", _url, "main", null),
        WorkflowExecutionId = taskId,
        StepName = "prepare",
        Inputs = new Dictionary<string, object?>(),
        StepOutputs = new Dictionary<string, IReadOnlyDictionary<string, object?>>(),
    };

    /// <summary>Allocated size in KiB of each path (<c>du -sk</c>: blocks shared by hardlinks are counted for the first path only).</summary>
    private static async Task<long[]> DiskKibAsync(CancellationToken cancellationToken, params string[] paths)
    {
        var output = await RunAsync("du", ["-sk", .. paths], cancellationToken);
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => long.Parse(l.Split('\t')[0], CultureInfo.InvariantCulture))];
    }

    /// <summary>Writes dirty pages out, so that one measurement's writeback does not land in the next one.</summary>
    private static async Task SyncAsync(CancellationToken cancellationToken) => await RunAsync("sync", [], cancellationToken);

    private static async Task<string> RunAsync(string program, string[] args, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {program}");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return process.ExitCode == 0 ? await stdout : throw new InvalidOperationException($"{program} failed: {(await stderr).Trim()}");
    }

    private static async Task<double> MachineBusyPercentAsync(TimeSpan window, CancellationToken cancellationToken)
    {
        var before = MachineBusySeconds();
        await Task.Delay(window, cancellationToken);
        var after = MachineBusySeconds();
        return before is { } a && after is { } b ? (b - a) / window.TotalSeconds / Environment.ProcessorCount * 100 : double.NaN;
    }

    /// <summary>Busy CPU seconds of the whole machine (user nice system irq softirq steal) from <c>/proc/stat</c>.</summary>
    private static double? MachineBusySeconds()
    {
        if (!File.Exists("/proc/stat"))
        {
            return null;
        }

        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length < 9 ? null : s_busyFields.Sum(i => long.Parse(fields[i], CultureInfo.InvariantCulture)) / 100.0;
    }

    /// <summary>CPU seconds of this process and of its children that have exited (git, du, sync): utime stime cutime cstime of <c>/proc/self/stat</c>.</summary>
    private static double? OwnCpuSeconds()
    {
        if (!File.Exists("/proc/self/stat"))
        {
            return null;
        }

        var stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return fields.Skip(11).Take(4).Sum(f => long.Parse(f, CultureInfo.InvariantCulture)) / 100.0;
    }

    /// <summary>The commit this tool was built from (its output directory is inside the repository), or "unknown".</summary>
    private static string AppRevision()
    {
        try
        {
            var info = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in (string[])["-C", AppContext.BaseDirectory, "rev-parse", "--short", "HEAD"])
            {
                info.ArgumentList.Add(arg);
            }

            using var process = Process.Start(info)!;
            var output = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return process.ExitCode == 0 && output.Length > 0 ? output : "unknown";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }

    private void Log(string message) => _log.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {message}");

    private static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
            // Best effort: the script's trap removes its temporary directory too.
        }
        catch (UnauthorizedAccessException)
        {
            // Best effort.
        }
    }
}

/// <summary>Everything a run of the workspaces benchmark found, as markdown and as one JSON line.</summary>
internal sealed record WorkspacesReport(
    DateTimeOffset Started,
    WorkspacesOptions Options,
    IReadOnlyList<string> Machine,
    string GitVersion,
    TimeSpan Generated,
    int CommitsAtEnd,
    long ObjectsKib,
    string? SizePack,
    long CheckoutKib,
    long MirrorKib,
    double ColdMs,
    IReadOnlyList<ApproachResult> Results,
    IReadOnlyList<string> Notes,
    string Revision,
    int CompletedRepetitions)
{
    public bool Complete => CompletedRepetitions == Options.Repeat;

    private static readonly JsonSerializerOptions s_json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public ApproachResult Worktree => Results[0];

    public ApproachResult? Result(string key) => Results.SingleOrDefault(r => r.Approach.Key == key);

    /// <summary>Median of a fresh <c>file://</c> clone over the median of the plugin's prepare.</summary>
    public double Ratio => Result("clone_file")!.Time.P50 / Worktree.Time.P50;

    public bool AimMet => Ratio >= WorkspacesBenchmark.AimRatio;

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        text.AppendLine(inv, $"# Workspace preparation benchmark — {Started:yyyy-MM-dd HH:mm} UTC").AppendLine();
        text.AppendLine(inv, $"- command: `devorch-bench workspaces --files {Options.Files} --commits {Options.Commits} --repeat {Options.Repeat} --seed {Options.Seed} --approaches {string.Join(",", Options.Approaches)}`");
        text.AppendLine(inv, $"- commit: {Revision}; {GitVersion}");
        foreach (var line in Machine)
        {
            text.AppendLine(inv, $"- {line}");
        }

        text.AppendLine(inv, $"- repository: {Options.Files:N0} files, {Options.Commits:N0} commits generated with git fast-import and repacked (-a -d -f, bitmap, commit-graph) in {Generated.TotalSeconds:0.0} s; objects {Mib(ObjectsKib)} on disk (size-pack {SizePack} KiB); a checkout is {Mib(CheckoutKib)} on disk; {CommitsAtEnd:N0} commits at the end (one pushed before each repetition)");
        text.AppendLine(inv, $"- first task of the project (no mirror yet: `clone --mirror` + worktree, once): {ColdMs:0} ms; the mirror then takes {Mib(MirrorKib)}, once per repository, shared by every worktree");
        text.AppendLine();
        text.AppendLine(inv, $"Second and later tasks, {CompletedRepetitions} repetitions each (interleaved, order rotated, `sync` before each; p50/p90 by nearest rank):").AppendLine();
        text.AppendLine("| approach | n | median ms | p90 ms | min ms | max ms | median ÷ worktree median | new disk per workspace |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var result in Results)
        {
            var d = result.Time;
            text.AppendLine(inv, $"| {result.Approach.Name} | {d.Count} | {d.P50:0} | {d.P90:0} | {result.Milliseconds.Min():0} | {d.Max:0} | {d.P50 / Worktree.Time.P50:0.00}× | {Mib(result.MedianDiskKib)} |");
        }

        text.AppendLine();
        text.AppendLine(inv, $"**Aim: the worktree ≥ {WorkspacesBenchmark.AimRatio:0}× faster than a fresh `git clone file://`: measured {Ratio:0.0}× — {(AimMet ? "met" : "missed")}.**");
        var others = new List<string>();
        if (Result("clone_local") is { } local)
        {
            others.Add(string.Create(inv, $"`git clone --local` {local.Time.P50 / Worktree.Time.P50:0.0}×"));
        }

        if (Result("clone_shallow") is { } shallow)
        {
            others.Add(string.Create(inv, $"a shallow clone {shallow.Time.P50 / Worktree.Time.P50:0.0}×"));
        }

        if (others.Count > 0)
        {
            text.AppendLine("Medians of the other clones over the worktree's: " + string.Join("; ", others) + ".");
        }
        text.AppendLine();
        text.AppendLine("New disk per workspace: allocated blocks (`du -sk`) of the working copy and its own git data — for a worktree, its files and");
        text.AppendLine("`worktrees/NAME` in the mirror (the mirror itself is counted once above); for `--local`, without the object files");
        text.AppendLine("hardlinked to the remote's. A recycled worktree reuses the disk of the pooled one (no new blocks beyond the files that");
        text.AppendLine("changed), and an idle pooled worktree keeps that disk until it is recycled or evicted (WORKSPACE_POOL_SIZE per mirror,");
        text.AppendLine("WORKSPACES_MAX_DISK_MB in all).");
        text.AppendLine();
        text.AppendLine("Samples (ms, in repetition order):").AppendLine();
        foreach (var result in Results)
        {
            text.AppendLine(inv, $"- {result.Approach.Key}: {string.Join(", ", result.Milliseconds.Select(m => m.ToString("0", inv)))}");
        }

        foreach (var note in Notes)
        {
            text.AppendLine().AppendLine(note);
        }

        return text.ToString();
    }

    public string ToJson() => JsonSerializer.Serialize(new
    {
        mode = "workspaces",
        started = Started,
        files = Options.Files,
        commits = Options.Commits,
        repeat = Options.Repeat,
        completed_repetitions = CompletedRepetitions,
        seed = Options.Seed,
        revision = Revision,
        git = GitVersion,
        machine = Machine,
        generated_s = Math.Round(Generated.TotalSeconds, 2),
        objects_kib = ObjectsKib,
        checkout_kib = CheckoutKib,
        mirror_kib = MirrorKib,
        cold_prepare_ms = Math.Round(ColdMs, 1),
        ratio_clone_file_over_worktree = Math.Round(Ratio, 2),
        aim_ratio = WorkspacesBenchmark.AimRatio,
        aim_met = AimMet,
        approaches = Results.Select(r => new
        {
            key = r.Approach.Key,
            name = r.Approach.Name,
            n = r.Time.Count,
            p50_ms = Math.Round(r.Time.P50, 1),
            p90_ms = Math.Round(r.Time.P90, 1),
            min_ms = Math.Round(r.Milliseconds.Min(), 1),
            max_ms = Math.Round(r.Time.Max, 1),
            disk_kib = r.MedianDiskKib,
            samples_ms = r.Milliseconds.Select(m => Math.Round(m, 1)),
        }),
        notes = Notes,
    }, s_json);

    private static string Mib(long kib) => (kib / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " MiB";
}
