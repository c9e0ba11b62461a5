using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Agents;
using DevOrchestrator.Features.Costs;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.Bench;

internal sealed record ConcurrencyOptions(int Agents, int WarmupAgents, TimeSpan Delay, string? PostgresAdminUrl, string WorkDir)
{
    public const int MaxAgents = 2000;

    /// <summary>Model client limits high enough never to throttle this benchmark.</summary>
    public static readonly IReadOnlyDictionary<string, string> Unthrottled = new Dictionary<string, string>
    {
        ["MODEL_MAX_CONCURRENT_REQUESTS"] = "1000",
        ["MODEL_REQUESTS_PER_SECOND"] = "1000",
        ["MONTHLY_BUDGET_LIMIT"] = "1000000",
    };

    public string Database => PostgresAdminUrl is null ? "sqlite" : "postgresql";
}

/// <summary>How one agent's run went, in seconds from the start of the measured run.</summary>
internal sealed record AgentOutcome(long TaskId, double Started, double Ended, bool Finished, int Turns, string? StopReason, string? Error);

/// <summary>
/// The concurrency benchmark: <see cref="ConcurrencyOptions.Agents"/> development agents at once in this one process,
/// each on its own git worktree, each making <see cref="ConcurrencyTrajectory.Turns"/> model calls to a fake Anthropic
/// server (another process) that answers every call after <see cref="ConcurrencyOptions.Delay"/>. The agents are the
/// real <see cref="DevelopmentAgent"/> of a real host (<see cref="AgentBenchHost"/>): metered, resilient model clients,
/// the cost ledger and the per-turn checkpoints on a real database, the workspace tools, git for the per-turn diff.
/// </summary>
internal static class AgentConcurrencyBenchmark
{
    public static async Task<ConcurrencyReport> RunAsync(ConcurrencyOptions options, TextWriter log, CancellationToken cancellationToken)
    {
        var machine = BenchMachine.Describe();
        var total = options.Agents + options.WarmupAgents;

        // The repository and one worktree per agent.
        var repository = Path.Combine(options.WorkDir, "repo");
        await ConcurrencyTrajectory.CreateRepositoryAsync(repository, cancellationToken);
        var worktrees = Path.Combine(options.WorkDir, "worktrees");
        var prepare = Stopwatch.StartNew();
        var paths = new List<string>(total);
        for (var i = 0; i < total; i++)
        {
            var path = Path.Combine(worktrees, i.ToString("0000", CultureInfo.InvariantCulture));
            await BenchGit.RunAsync(repository, cancellationToken, "worktree", "add", "-q", "--detach", path, "HEAD");
            paths.Add(path);
        }

        var prepareSeconds = prepare.Elapsed.TotalSeconds;
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"devorch-bench agent-concurrency: {total} worktrees in {prepareSeconds:0.0} s; starting the fake model ({options.Delay.TotalMilliseconds:0} ms per reply) and the host on {options.Database}"));

        await using var fake = await FakeAnthropicProcess.StartAsync(options.Delay, cancellationToken);
        var settings = new Dictionary<string, string?>
        {
            ["ANTHROPIC_API_KEY"] = fake.ApiKey,
            ["ANTHROPIC_BASE_URL"] = fake.BaseUrl.ToString().TrimEnd('/'),
            ["DEVELOPMENT_MODEL"] = "claude-sonnet-4-5",
            ["SANDBOX_TIMEOUT_SECONDS"] = "120",
        };
        foreach (var (key, value) in ConcurrencyOptions.Unthrottled)
        {
            settings[key] = value;
        }

        await using var host = await AgentBenchHost.StartAsync(Path.Combine(options.WorkDir, "host"), options.PostgresAdminUrl, settings, cancellationToken);
        var rows = await host.CreateAgentRowsAsync(total, "Bump the version", cancellationToken);
        var agent = host.Agent;

        // Warm-up (JIT, connection pools, the sandbox probe), not measured.
        var warmupClock = Stopwatch.StartNew();
        var warmup = await Task.WhenAll(Enumerable.Range(0, options.WarmupAgents).Select(i => RunOneAsync(agent, rows[i], paths[i], warmupClock, new CallCounter(), cancellationToken)));
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"devorch-bench agent-concurrency: warm-up of {options.WarmupAgents} agent(s) took {warmupClock.Elapsed.TotalSeconds:0.0} s ({warmup.Count(w => w.Finished)} finished); measuring {options.Agents} agents"));

        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        var baselineHeap = GC.GetTotalMemory(forceFullCollection: true);
        var baselineWorkingSet = Environment.WorkingSet;
        var gcBefore = (Gen0: GC.CollectionCount(0), Gen1: GC.CollectionCount(1), Gen2: GC.CollectionCount(2), Pause: GC.GetTotalPauseDuration(), Allocated: GC.GetTotalAllocatedBytes(precise: false));

        var calls = new CallCounter();
        var done = 0L;
        var probe = new RuntimeProbe(() => Interlocked.Read(ref calls.Count), () => Interlocked.Read(ref done));
        probe.Start();
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken); // the idle baseline of the timer lag

        await using var postgres = host.Postgres is { } pg ? new PostgresActivity(pg.AdminUrl, pg.Database) : null;
        if (postgres is not null)
        {
            await postgres.StartAsync(cancellationToken);
        }

        var cpu = new CpuMeter(fake.ProcessId);
        var childrenCpuBefore = RuntimeProbe.ChildrenCpuSeconds();
        var probeOffset = probe.Now;
        var start = Stopwatch.GetTimestamp();
        var clock = Stopwatch.StartNew();
        var measured = rows.Skip(options.WarmupAgents).Zip(paths.Skip(options.WarmupAgents)).Select(pair => Task.Run(async () =>
        {
            var outcome = await RunOneAsync(agent, pair.First, pair.Second, clock, calls, cancellationToken);
            Interlocked.Increment(ref done);
            return outcome;
        }, CancellationToken.None)).ToList();
        var outcomes = await Task.WhenAll(measured);
        var wall = clock.Elapsed.TotalSeconds;
        var (cpuWall, selfCpu, fakeCpu, machineCpu) = cpu.Read();
        var childrenCpu = RuntimeProbe.ChildrenCpuSeconds() - childrenCpuBefore;
        if (postgres is not null)
        {
            await postgres.StopAsync();
        }

        var gcAfter = (Gen0: GC.CollectionCount(0), Gen1: GC.CollectionCount(1), Gen2: GC.CollectionCount(2), Pause: GC.GetTotalPauseDuration(), Allocated: GC.GetTotalAllocatedBytes(precise: false));
        await Task.Delay(TimeSpan.FromSeconds(0.5), CancellationToken.None);
        await probe.StopAsync();
        var retainedHeap = GC.GetTotalMemory(forceFullCollection: true);

        // What the database holds for the measured agents.
        var taskIds = outcomes.Select(o => o.TaskId).ToList();
        await using var scope = host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        var ledger = await db.CostEntries.AsNoTracking().Where(c => c.TaskId != null && taskIds.Contains(c.TaskId.Value))
            .Select(c => new { c.TaskId, c.LatencyMs }).ToListAsync(CancellationToken.None);
        var checkpoints = await db.AgentCheckpoints.AsNoTracking().Where(c => taskIds.Contains(c.TaskId)).Select(c => c.Turn).ToListAsync(CancellationToken.None);
        var reservations = await db.CostReservations.CountAsync(CancellationToken.None);
        await fake.StopAsync();

        var latencyByTask = ledger.GroupBy(c => c.TaskId!.Value).ToDictionary(g => g.Key, g => g.Sum(c => (double)c.LatencyMs));
        var nonModelPerTurn = outcomes.Where(o => o.Finished && o.Turns > 0 && latencyByTask.ContainsKey(o.TaskId))
            .Select(o => ((o.Ended - o.Started) * 1000 - latencyByTask[o.TaskId]) / o.Turns);

        return new ConcurrencyReport
        {
            Options = options,
            Machine = machine,
            Database = host.DatabaseDescription,
            PrepareSeconds = prepareSeconds,
            Outcomes = outcomes,
            WallSeconds = wall,
            ModelCalls = Interlocked.Read(ref calls.Count),
            CallCompletions = calls.Timestamps(start),
            CallLatencyMs = Distribution.Of(ledger.Select(c => (double)c.LatencyMs)),
            NonModelPerTurnMs = Distribution.Of(nonModelPerTurn),
            LedgerRows = ledger.Count,
            CheckpointTurns = checkpoints,
            OpenReservations = reservations,
            FakeStats = fake.Stats,
            BaselineHeap = baselineHeap,
            BaselineWorkingSet = baselineWorkingSet,
            RetainedHeap = retainedHeap,
            Gen0 = gcAfter.Gen0 - gcBefore.Gen0,
            Gen1 = gcAfter.Gen1 - gcBefore.Gen1,
            Gen2 = gcAfter.Gen2 - gcBefore.Gen2,
            GcPause = gcAfter.Pause - gcBefore.Pause,
            AllocatedBytes = gcAfter.Allocated - gcBefore.Allocated,
            Samples = probe.Samples,
            Lags = probe.Lags,
            ProbeOffset = probeOffset,
            CpuWall = cpuWall,
            SelfCpu = selfCpu,
            FakeCpu = fakeCpu,
            ChildrenCpu = childrenCpu,
            MachineCpu = machineCpu,
            PostgresCpu = postgres?.BackendCpuSeconds,
            PostgresSessions = postgres?.Top(8) ?? [],
        };
    }

    private static async Task<AgentOutcome> RunOneAsync(DevelopmentAgent agent, AgentRows rows, string worktree, Stopwatch clock, CallCounter calls, CancellationToken cancellationToken)
    {
        var started = clock.Elapsed.TotalSeconds;
        try
        {
            var result = await agent.RunAsync(new DevelopmentRequest
            {
                Scope = new ModelCallScope(rows.TaskId, null, null, rows.AgentExecutionId, AgentRoles.Development),
                WorkflowExecutionId = rows.WorkflowExecutionId,
                Conversation = AiActionHandler.DefaultConversation,
                Worktree = worktree,
                Task = ConcurrencyTrajectory.TaskText,
                MaxTurns = ConcurrencyTrajectory.Turns + 2,
                Progress = calls,
            }, cancellationToken);
            return new AgentOutcome(rows.TaskId, started, clock.Elapsed.TotalSeconds, result.Finished, result.Turns, result.StopReason, null);
        }
        catch (Exception ex)
        {
            return new AgentOutcome(rows.TaskId, started, clock.Elapsed.TotalSeconds, false, 0, null, ex.GetType().Name + ": " + ex.Message.ReplaceLineEndings(" "));
        }
    }

    /// <summary>Counts the agents' turns (one progress report after each paid model call) and when they ended.</summary>
    internal sealed class CallCounter : IProgress<string>
    {
        private readonly List<long> _timestamps = [];
#pragma warning disable CA1051 // a field, for Interlocked
        public long Count;
#pragma warning restore CA1051

        public void Report(string value)
        {
            if (!value.StartsWith("turn ", StringComparison.Ordinal))
            {
                return;
            }

            Interlocked.Increment(ref Count);
            lock (_timestamps)
            {
                _timestamps.Add(Stopwatch.GetTimestamp());
            }
        }

        /// <summary>When each call ended, in seconds since <paramref name="start"/> (a <see cref="Stopwatch.GetTimestamp"/>).</summary>
        public IReadOnlyList<double> Timestamps(long start)
        {
            lock (_timestamps)
            {
                return [.. _timestamps.Select(t => (t - start) / (double)Stopwatch.Frequency).Order()];
            }
        }
    }
}

/// <summary>The concurrency benchmark's numbers and their tables.</summary>
internal sealed class ConcurrencyReport
{
    public required ConcurrencyOptions Options { get; init; }
    public required IReadOnlyList<string> Machine { get; init; }
    public required string Database { get; init; }
    public double PrepareSeconds { get; init; }
    public required IReadOnlyList<AgentOutcome> Outcomes { get; init; }
    public double WallSeconds { get; init; }
    public long ModelCalls { get; init; }
    public required IReadOnlyList<double> CallCompletions { get; init; }
    public required Distribution CallLatencyMs { get; init; }
    public required Distribution NonModelPerTurnMs { get; init; }
    public int LedgerRows { get; init; }
    public required IReadOnlyList<int> CheckpointTurns { get; init; }
    public int OpenReservations { get; init; }
    public string? FakeStats { get; init; }
    public long BaselineHeap { get; init; }
    public long BaselineWorkingSet { get; init; }
    public long RetainedHeap { get; init; }
    public int Gen0 { get; init; }
    public int Gen1 { get; init; }
    public int Gen2 { get; init; }
    public TimeSpan GcPause { get; init; }
    public long AllocatedBytes { get; init; }
    public required IReadOnlyList<RuntimeSample> Samples { get; init; }
    public required IReadOnlyList<(double Seconds, double LagMs)> Lags { get; init; }

    /// <summary>Seconds of the probe's clock at which the measured run started (the probe started ~2 s earlier).</summary>
    public double ProbeOffset { get; init; }
    public double CpuWall { get; init; }
    public double SelfCpu { get; init; }
    public double? FakeCpu { get; init; }
    public double? ChildrenCpu { get; init; }
    public double? MachineCpu { get; init; }

    /// <summary>CPU seconds of the PostgreSQL backends of the benchmark's database during the run.</summary>
    public double? PostgresCpu { get; init; }

    /// <summary>The database's sessions by state, wait and statement, averaged over 500 ms samples (PostgreSQL only).</summary>
    public IReadOnlyList<(string State, double Average)> PostgresSessions { get; init; } = [];

    public int Finished => Outcomes.Count(o => o.Finished && o.Turns == ConcurrencyTrajectory.Turns);
    public double IdealSeconds => ConcurrencyTrajectory.Turns * Options.Delay.TotalSeconds;

    private IEnumerable<RuntimeSample> RunSamples => Samples.Where(s => s.Seconds >= ProbeOffset && s.Seconds <= ProbeOffset + WallSeconds);

    /// <summary>Timer-lag samples of the idle baseline and of the run (each lag sample is one ~100 ms period).</summary>
    private (Distribution Idle, Distribution Run) LagDistributions()
    {
        var idle = Lags.Where(l => l.Seconds < ProbeOffset).Select(l => l.LagMs);
        var run = Lags.Where(l => l.Seconds >= ProbeOffset && l.Seconds <= ProbeOffset + WallSeconds).Select(l => l.LagMs);

        return (Distribution.Of(idle), Distribution.Of(run));
    }

    public string ToMarkdown()
    {
        var inv = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        var n = Options.Agents;
        text.AppendLine(inv, $"### Concurrency: {n} development agents in one process, {ConcurrencyTrajectory.Turns} model calls each, fake model answering after {Options.Delay.TotalSeconds:0.###} s — {Options.Database}");
        text.AppendLine();
        foreach (var line in Machine)
        {
            text.AppendLine("- " + line);
        }

        text.AppendLine("- database: " + Database + "; model client limits: " + string.Join(", ", ConcurrencyOptions.Unthrottled.Select(p => p.Key + "=" + p.Value)) + " (so neither limiter nor budget throttles)");
        text.AppendLine(inv, $"- the agents: `DevelopmentAgent.RunAsync` of a started host (role all) called directly, {n} at once (plus {Options.WarmupAgents} warm-up agents before, not counted); the fake Anthropic server runs in a child process");
        text.AppendLine(inv, $"- {n + Options.WarmupAgents} git worktrees of one small repository prepared in {PrepareSeconds:0.0} s ({PrepareSeconds * 1000 / (n + Options.WarmupAgents):0} ms each, sequential `git worktree add`)");
        text.AppendLine();

        var failures = Outcomes.Where(o => !(o.Finished && o.Turns == ConcurrencyTrajectory.Turns)).ToList();
        var durations = Distribution.Of(Outcomes.Where(o => o.Finished).Select(o => (o.Ended - o.Started) * 1000));
        var starts = Distribution.Of(Outcomes.Select(o => o.Started * 1000));
        var peak = PeakPerSecond(CallCompletions);
        var run = RunSamples.ToList();
        var (idleLag, runLag) = LagDistributions();
        var peakHeap = run.Count > 0 ? run.Max(s => s.HeapBytes) : 0;
        var peakLive = run.Count > 0 ? run.Max(s => s.HeapAfterLastGcBytes) : 0;
        var peakWorkingSet = run.Count > 0 ? run.Max(s => s.WorkingSetBytes) : 0;
        var pending = Distribution.Of(run.Select(s => (double)s.PendingWorkItems));

        text.AppendLine("| measure | value |");
        text.AppendLine("|---|---|");
        text.AppendLine(inv, $"| agents finished (5 turns, `finish` called) | **{Finished} / {n}**{(failures.Count > 0 ? $" ({failures.Count} did not: see below)" : string.Empty)} |");
        text.AppendLine(inv, $"| wall time, first start → last finish | **{WallSeconds:0.00} s** vs ideal {IdealSeconds:0.0} s ({ConcurrencyTrajectory.Turns} × {Options.Delay.TotalSeconds:0.###} s): ×{WallSeconds / IdealSeconds:0.00} |");
        text.AppendLine(inv, $"| model calls completed | {ModelCalls:N0} (fake: {FakeStats ?? "?"}) |");
        text.AppendLine(inv, $"| throughput | **{ModelCalls / WallSeconds:0.0} model calls/s** (ideal {n / Options.Delay.TotalSeconds:0}/s), peak {peak} calls in one second; **{Finished / WallSeconds:0.0} agents completed/s** |");
        text.AppendLine(inv, $"| agent duration, ms | p50 {durations.P50:0}, p90 {durations.P90:0}, p99 {durations.P99:0}, max {durations.Max:0} |");
        text.AppendLine(inv, $"| agent start (Task.Run → first line of RunAsync), ms after t0 | p50 {starts.P50:0.0}, p99 {starts.P99:0.0}, max {starts.Max:0.0} |");
        text.AppendLine(inv, $"| model call latency in the metered client (ledger; includes the {Options.Delay.TotalMilliseconds:0} ms reply delay), ms | p50 {CallLatencyMs.P50:0}, p90 {CallLatencyMs.P90:0}, p99 {CallLatencyMs.P99:0}, max {CallLatencyMs.Max:0} |");
        text.AppendLine(inv, $"| time per turn outside the model call (tools, git diff, checkpoints, ledger), ms | p50 {NonModelPerTurnMs.P50:0}, p90 {NonModelPerTurnMs.P90:0}, p99 {NonModelPerTurnMs.P99:0}, max {NonModelPerTurnMs.Max:0} |");
        text.AppendLine(inv, $"| memory: managed heap | baseline {Mb(BaselineHeap)}; peak sampled {Mb(peakHeap)}; peak live after a GC {Mb(peakLive)}; **per agent {Kb((peakLive - BaselineHeap) / n)} live** ({Kb((peakHeap - BaselineHeap) / n)} sampled peak); after the run and a full GC {Mb(RetainedHeap)} |");
        text.AppendLine(inv, $"| memory: working set | baseline {Mb(BaselineWorkingSet)}; peak {Mb(peakWorkingSet)}; **per agent {Kb((peakWorkingSet - BaselineWorkingSet) / n)}** |");
        text.AppendLine(inv, $"| allocations and GC during the run | {Mb(AllocatedBytes)} allocated ({Kb(AllocatedBytes / n)} per agent); collections gen0 {Gen0}, gen1 {Gen1}, gen2 {Gen2}; total pause {GcPause.TotalMilliseconds:0} ms |");
        text.AppendLine(inv, $"| event loop: lag of a 100 ms `Task.Delay` loop on the pool, ms | idle before: p50 {idleLag.P50:0.0}, p99 {idleLag.P99:0.0}, max {idleLag.Max:0.0}; **during the run: p50 {runLag.P50:0.0}, p99 {runLag.P99:0.0}, max {runLag.Max:0.0}** ({runLag.Count} samples) |");
        text.AppendLine(inv, $"| thread pool during the run (sampled every 100 ms) | threads {Min(run, s => s.PoolThreads)}–{Max(run, s => s.PoolThreads)}; queued work items p50 {pending.P50:0}, p99 {pending.P99:0}, max {pending.Max:0}; OS threads max {Max(run, s => s.OsThreads)} |");
        text.AppendLine(inv, $"| CPU over the run ({CpuWall:0.0} s, {Environment.ProcessorCount} cores) | this process {SelfCpu:0.0} s ({SelfCpu / CpuWall * 100:0}% of one core); its children (git, sandbox) {ChildrenCpu:0.0} s; fake model process {FakeCpu:0.0} s; whole machine busy {MachineCpu / CpuWall / Environment.ProcessorCount * 100:0}%, {(PostgresCpu is { } pgCpu ? $"PostgreSQL backends of the database {pgCpu:0.0} s, " : string.Empty)}other processes (other work on the machine) {MachineCpu - SelfCpu - (ChildrenCpu ?? 0) - (FakeCpu ?? 0) - (PostgresCpu ?? 0):0.0} s |");
        var perCall = (SelfCpu + (ChildrenCpu ?? 0)) * 1000 / Math.Max(1, ModelCalls);
        text.AppendLine(inv, $"| CPU per model call (this process + its children) | **{perCall:0.0} ms**: at most {Environment.ProcessorCount * 1000 / perCall:0} calls/s on {Environment.ProcessorCount} otherwise idle cores, i.e. {Environment.ProcessorCount * 1000 / perCall * Options.Delay.TotalSeconds:0} agents in flight before the CPU, not the model, sets the pace |");
        text.AppendLine(inv, $"| database afterwards | {LedgerRows:N0} cost ledger rows; {CheckpointTurns.Count(t => t == ConcurrencyTrajectory.Turns)} checkpoints at turn {ConcurrencyTrajectory.Turns} (of {CheckpointTurns.Count}); {OpenReservations} cost reservations left open |");
        if (PostgresSessions.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("PostgreSQL sessions of the database during the run (`pg_stat_activity` every 500 ms: state / wait event / statement; average number of sessions):");
            text.AppendLine();
            foreach (var (state, average) in PostgresSessions)
            {
                text.AppendLine(inv, $"- {average:0.0} × `{state}`");
            }
        }

        if (failures.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("Agents that did not finish, by reason:");
            text.AppendLine();
            foreach (var group in failures.GroupBy(f => Cut(f.Error ?? $"stopped: {f.StopReason} after {f.Turns} turns", 300)).OrderByDescending(g => g.Count()))
            {
                text.AppendLine(inv, $"- {group.Count()} × {group.Key}");
            }
        }

        text.AppendLine();
        text.AppendLine("Timeline (per second of the run; counters at the end of the second, maxima within it):");
        text.AppendLine();
        text.AppendLine("| s | model calls done | agents ended (finished or failed) | pool threads | queued work items (max) | OS threads | heap MiB (max) | working set MiB (max) | timer lag max ms (— : no wake-up ended in this second) |");
        text.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var seconds = (int)Math.Ceiling(WallSeconds);
        for (var s = 0; s < seconds; s++)
        {
            var window = run.Where(x => x.Seconds - ProbeOffset >= s && x.Seconds - ProbeOffset < s + 1).ToList();
            if (window.Count == 0)
            {
                continue;
            }

            var lagMax = LagsIn(s, s + 1) is { } lag ? lag.ToString("0.0", inv) : "—";
            text.AppendLine(inv, $"| {s + 1} | {window[^1].Counter1:N0} | {window[^1].Counter2:N0} | {window.Max(x => x.PoolThreads)} | {window.Max(x => x.PendingWorkItems):N0} | {window.Max(x => x.OsThreads)} | {window.Max(x => x.HeapBytes) / 1048576.0:0} | {window.Max(x => x.WorkingSetBytes) / 1048576.0:0} | {lagMax} |");
        }

        return text.ToString();
    }

    private double? LagsIn(double from, double to) =>
        Lags.Where(l => l.Seconds - ProbeOffset >= from && l.Seconds - ProbeOffset < to).Select(l => (double?)l.LagMs).Max();

    private static int PeakPerSecond(IReadOnlyList<double> sorted)
    {
        var peak = 0;
        var first = 0;
        for (var last = 0; last < sorted.Count; last++)
        {
            while (sorted[last] - sorted[first] >= 1.0)
            {
                first++;
            }

            peak = Math.Max(peak, last - first + 1);
        }

        return peak;
    }

    private static string Mb(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:N0} MiB");
    private static string Kb(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:N0} KiB");
    private static string Cut(string text, int length) => text.Length <= length ? text : text[..length] + "…";
    private static int Min(List<RuntimeSample> samples, Func<RuntimeSample, int> value) => samples.Count == 0 ? 0 : samples.Min(value);
    private static int Max(List<RuntimeSample> samples, Func<RuntimeSample, int> value) => samples.Count == 0 ? 0 : samples.Max(value);

    public string ToJson()
    {
        var (idleLag, runLag) = LagDistributions();
        var run = RunSamples.ToList();
        return JsonSerializer.Serialize(new
        {
            benchmark = "agent-concurrency",
            machine = Machine,
            database = Options.Database,
            agents = Options.Agents,
            turns = ConcurrencyTrajectory.Turns,
            delay_ms = Options.Delay.TotalMilliseconds,
            settings = ConcurrencyOptions.Unthrottled,
            prepare_seconds = PrepareSeconds,
            finished = Finished,
            wall_seconds = WallSeconds,
            ideal_seconds = IdealSeconds,
            model_calls = ModelCalls,
            calls_per_second = ModelCalls / WallSeconds,
            peak_calls_in_one_second = PeakPerSecond(CallCompletions),
            agents_per_second = Finished / WallSeconds,
            agent_ms = Distribution.Of(Outcomes.Where(o => o.Finished).Select(o => (o.Ended - o.Started) * 1000)),
            call_latency_ms = CallLatencyMs,
            non_model_per_turn_ms = NonModelPerTurnMs,
            heap = new { baseline = BaselineHeap, peak = run.Count > 0 ? run.Max(s => s.HeapBytes) : 0, peak_live = run.Count > 0 ? run.Max(s => s.HeapAfterLastGcBytes) : 0, retained = RetainedHeap },
            working_set = new { baseline = BaselineWorkingSet, peak = run.Count > 0 ? run.Max(s => s.WorkingSetBytes) : 0 },
            allocated = AllocatedBytes,
            gc = new { gen0 = Gen0, gen1 = Gen1, gen2 = Gen2, pause_ms = GcPause.TotalMilliseconds },
            lag_idle_ms = idleLag,
            lag_run_ms = runLag,
            pool_threads_max = run.Count > 0 ? run.Max(s => s.PoolThreads) : 0,
            pending_max = run.Count > 0 ? run.Max(s => s.PendingWorkItems) : 0,
            postgres_sessions = PostgresSessions.Select(p => new { state = p.State, average = p.Average }),
            cpu = new { wall = CpuWall, self = SelfCpu, children = ChildrenCpu, fake = FakeCpu, machine = MachineCpu, postgres = PostgresCpu, ms_per_call = (SelfCpu + (ChildrenCpu ?? 0)) * 1000 / Math.Max(1, ModelCalls) },
            ledger_rows = LedgerRows,
            checkpoints_at_last_turn = CheckpointTurns.Count(t => t == ConcurrencyTrajectory.Turns),
            open_reservations = OpenReservations,
            fake = FakeStats,
            failures = Outcomes.Where(o => o.Error is not null || !o.Finished).GroupBy(o => o.Error ?? o.StopReason ?? "?").ToDictionary(g => g.Key, g => g.Count()),
        });
    }
}
