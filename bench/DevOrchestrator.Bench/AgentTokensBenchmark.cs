using System.Globalization;
using System.Text;
using System.Text.Json;
using DevOrchestrator.Data;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.Features.Agents;
using DevOrchestrator.Features.Costs;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.Bench;

/// <summary>
/// One configuration of the token benchmark. <paramref name="Cache"/>: the fake caches prompt prefixes (Anthropic's
/// rules, 1,024-token minimum as for Sonnet) — else it never does, so every prompt token is billed as input.
/// <paramref name="Cut"/>: tool outputs are cut to AGENT_TOOL_OUTPUT_CHARS (default 20,000) — else the limit is 100 M
/// characters. <paramref name="Condense"/>: the model's real 200k context window drives condensing — else the window
/// is set to 100 M tokens through MODEL_PRICES, so nothing is ever condensed.
/// </summary>
internal sealed record TokenVariant(string Name, bool Cache, bool Cut, bool Condense)
{
    public static readonly TokenVariant Ours = new("ours (cache + cut + condense)", true, true, true);
    public static readonly TokenVariant Naive = new("naive full resend", false, false, false);
    public static readonly TokenVariant CacheOnly = new("cache only (no cut, no condense)", true, false, false);
    public static readonly TokenVariant CutOnly = new("cut + condense only (no cache)", false, true, true);
}

/// <summary>The metered usage of one model call (a cost ledger row) and what the request looked like on the wire.</summary>
internal sealed record TokenCall(long Input, long Output, long CacheWrite, long CacheRead, decimal Usd, int RequestBytes, int Breakpoints)
{
    public long Prompt => Input + CacheWrite + CacheRead;

    /// <summary>Input-token equivalents billed: input + 1.25 × cache writes + 0.1 × cache reads.</summary>
    public double Billed => Input + (1.25 * CacheWrite) + (0.1 * CacheRead);
}

internal sealed record TokenRun(TokenVariant Variant, IReadOnlyList<TokenCall> Calls, bool Finished, string StopReason, int Condensed, int CutOutputs, int FakeRequests, int ToolLimitNotes)
{
    public long Prompt => Calls.Sum(c => c.Prompt);
    public long Input => Calls.Sum(c => c.Input);
    public long Output => Calls.Sum(c => c.Output);
    public long CacheWrite => Calls.Sum(c => c.CacheWrite);
    public long CacheRead => Calls.Sum(c => c.CacheRead);
    public double Billed => Calls.Sum(c => c.Billed);

    /// <summary>What the calls cost at claude-sonnet-4-5 list prices (recomputed from the tokens).</summary>
    public decimal Usd => Calls.Sum(c => TokensBenchmarkPrices.Sonnet.Cost(c.Input, c.Output, c.CacheWrite, c.CacheRead));
}

internal static class TokensBenchmarkPrices
{
    public static ModelPrice Sonnet => ModelPrices.BuiltIn["claude-sonnet-4-5"];
}

/// <summary>
/// The token-efficiency benchmark: the real <see cref="DevelopmentAgent"/> of a real host runs the fixed 30-call
/// <see cref="TokenTrajectory"/> on <see cref="ShopRepository"/> against the fake Anthropic server, whose prompt-cache
/// emulation computes each call's input, cache-write and cache-read tokens from the request bodies the agent really
/// sent (breakpoints included). The same trajectory runs once per <see cref="TokenVariant"/>, each on a fresh
/// repository, host (SQLite) and fake server; the tokens come from the cost ledger.
/// </summary>
internal static class AgentTokensBenchmark
{
    public const double Aim = 0.30;

    public static async Task<TokenReport> RunAsync(string workDir, TextWriter log, CancellationToken cancellationToken)
    {
        var runs = new List<TokenRun>();
        foreach (var variant in (TokenVariant[])[TokenVariant.Ours, TokenVariant.Naive, TokenVariant.CacheOnly, TokenVariant.CutOnly])
        {
            var directory = Path.Combine(workDir, "variant-" + runs.Count.ToString(CultureInfo.InvariantCulture));
            await log.WriteLineAsync($"devorch-bench agent-tokens: {variant.Name}");
            runs.Add(await RunVariantAsync(variant, directory, cancellationToken));
        }

        return new TokenReport(runs, BenchMachine.Describe());
    }

    private static async Task<TokenRun> RunVariantAsync(TokenVariant variant, string directory, CancellationToken cancellationToken)
    {
        var repository = Path.Combine(directory, "repo");
        await ShopRepository.CreateAsync(repository, cancellationToken);
        await using var model = await FakeAnthropicServer.StartAsync(new FakeModelServerOptions
        {
            MinimumCacheableTokens = variant.Cache ? 1024 : int.MaxValue,
        }, cancellationToken);
        model.Enqueue(TokenTrajectory.Replies());

        var price = TokensBenchmarkPrices.Sonnet;
        var settings = new Dictionary<string, string?>
        {
            ["ANTHROPIC_API_KEY"] = model.ApiKey,
            ["ANTHROPIC_BASE_URL"] = model.BaseUrl.ToString().TrimEnd('/'),
            ["DEVELOPMENT_MODEL"] = "claude-sonnet-4-5",
            ["SANDBOX_TIMEOUT_SECONDS"] = "60",
        };
        if (!variant.Cut)
        {
            settings["AGENT_TOOL_OUTPUT_CHARS"] = "100000000";
        }

        if (!variant.Condense)
        {
            var prefix = "MODEL_PRICES:claude-sonnet-4-5:";
            settings[prefix + "input"] = price.Input.ToString(CultureInfo.InvariantCulture);
            settings[prefix + "output"] = price.Output.ToString(CultureInfo.InvariantCulture);
            settings[prefix + "cache_write"] = price.CacheWrite.ToString(CultureInfo.InvariantCulture);
            settings[prefix + "cache_read"] = price.CacheRead.ToString(CultureInfo.InvariantCulture);
            settings[prefix + "context_window"] = "100000000";
        }

        await using var host = await AgentBenchHost.StartAsync(Path.Combine(directory, "host"), null, settings, cancellationToken);
        var rows = (await host.CreateAgentRowsAsync(1, "Retry payment charges", cancellationToken))[0];
        var result = await host.Agent.RunAsync(new DevelopmentRequest
        {
            Scope = new ModelCallScope(rows.TaskId, null, null, rows.AgentExecutionId, AgentRoles.Development),
            WorkflowExecutionId = rows.WorkflowExecutionId,
            Conversation = AiActionHandler.DefaultConversation,
            Worktree = repository,
            Task = TokenTrajectory.TaskText,
            MaxTurns = 40,
        }, cancellationToken);

        await using var scope = host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        var ledger = await db.CostEntries.AsNoTracking().Where(c => c.TaskId == rows.TaskId).OrderBy(c => c.Id).ToListAsync(cancellationToken);
        var requests = model.Requests.Where(r => r.StatusCode == 200).ToList();
        var calls = ledger.Select((c, i) => new TokenCall(
            c.InputTokens, c.OutputTokens, c.CacheWriteTokens, c.CacheReadTokens, c.Usd,
            i < requests.Count ? Encoding.UTF8.GetByteCount(requests[i].Body) : 0,
            i < requests.Count ? CountOf(requests[i].Body, "\"cache_control\"") : 0)).ToList();
        var last = requests.Count > 0 ? requests[^1].Body : string.Empty;
        return new TokenRun(
            variant, calls, result.Finished, result.StopReason,
            Condensed: CountOf(last, "[condensed] this output"),
            CutOutputs: CountOf(last, " characters cut \u2026]"),
            FakeRequests: model.TotalRequests,
            ToolLimitNotes: CountOf(last, "[\u2026 stopped after"));
    }

    private static int CountOf(string text, string value)
    {
        var count = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}

/// <summary>The token benchmark's tables.</summary>
internal sealed record TokenReport(IReadOnlyList<TokenRun> Runs, IReadOnlyList<string> Machine)
{
    public TokenRun Ours => Runs.Single(r => r.Variant == TokenVariant.Ours);
    public TokenRun Naive => Runs.Single(r => r.Variant == TokenVariant.Naive);
    public double Ratio => Ours.Billed / Naive.Billed;

    /// <summary>Every run finished with 30 metered calls and the fake saw no other request.</summary>
    public bool Valid => Runs.All(r => r.Finished && r.Calls.Count == 30 && r.FakeRequests == 30);

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        text.AppendLine("### Token efficiency: one fixed 30-call trajectory, real development agent, fake Anthropic server");
        text.AppendLine();
        foreach (var line in Machine)
        {
            text.AppendLine("- " + line);
        }

        text.AppendLine(inv, $"- model claude-sonnet-4-5 (list prices per million tokens: input ${TokensBenchmarkPrices.Sonnet.Input}, output ${TokensBenchmarkPrices.Sonnet.Output}, cache write ${TokensBenchmarkPrices.Sonnet.CacheWrite}, cache read ${TokensBenchmarkPrices.Sonnet.CacheRead}); tokens are the fake's (one per 4 UTF-8 bytes of each block's JSON)");
        text.AppendLine("- billed input-token equivalents = input + 1.25 × cache write + 0.1 × cache read, summed over the calls");
        text.AppendLine();
        text.AppendLine("| variant | calls | finished | prompt tokens (sum) | input | cache write | cache read | **billed equiv.** | % of naive | output | cost (USD) | last prompt | cut outputs in last | condensed |");
        text.AppendLine("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var run in Runs)
        {
            text.AppendLine(inv, $"| {run.Variant.Name} | {run.Calls.Count} | {(run.Finished ? "yes" : "no: " + run.StopReason)} | {run.Prompt:N0} | {run.Input:N0} | {run.CacheWrite:N0} | {run.CacheRead:N0} | **{run.Billed:N0}** | {run.Billed / Naive.Billed * 100:0.0}% | {run.Output:N0} | ${run.Usd:0.0000} | {(run.Calls.Count > 0 ? run.Calls[^1].Prompt : 0):N0} | {run.CutOutputs} | {run.Condensed} |");
        }

        text.AppendLine();
        var verdict = Ratio <= AgentTokensBenchmark.Aim ? "**met**" : string.Create(inv, $"**missed** by {(Ratio - AgentTokensBenchmark.Aim) * 100:0.0} points");
        text.AppendLine(inv, $"Ours / naive billed input-token equivalents: **{Ratio * 100:0.0}%** (aim ≤ {AgentTokensBenchmark.Aim * 100:0}%): {verdict}. Dollars: ours ${Ours.Usd:0.0000} vs naive ${Naive.Usd:0.0000} ({(double)(Ours.Usd / Naive.Usd) * 100:0.0}%, output tokens included in both).");
        if (!Valid)
        {
            text.AppendLine();
            text.AppendLine("**Invalid run**: not every variant finished with exactly 30 metered calls (see the per-call table).");
        }

        text.AppendLine();
        text.AppendLine("Per call (call n carries the result of call n−1's tool; prompt = input + cache write + cache read; billed as above):");
        text.AppendLine();
        text.Append("| # | tool asked for by the reply | request bytes (ours / naive) | breakpoints (ours) |");
        foreach (var run in Runs)
        {
            text.Append(inv, $" {Short(run.Variant)} prompt | {Short(run.Variant)} billed |");
        }

        text.AppendLine();
        text.Append("|---:|---|---:|---:|");
        text.AppendLine(string.Concat(Enumerable.Repeat("---:|---:|", Runs.Count)));
        var tools = TokenTrajectory.Describe();
        for (var i = 0; i < Runs.Max(r => r.Calls.Count); i++)
        {
            var ours = i < Ours.Calls.Count ? Ours.Calls[i] : null;
            var naive = i < Naive.Calls.Count ? Naive.Calls[i] : null;
            text.Append(inv, $"| {i + 1} | {(i < tools.Count ? tools[i] : "?")} | {ours?.RequestBytes:N0} / {naive?.RequestBytes:N0} | {ours?.Breakpoints} |");
            foreach (var run in Runs)
            {
                var call = i < run.Calls.Count ? run.Calls[i] : null;
                text.Append(inv, $" {call?.Prompt:N0} | {call?.Billed:N0} |");
            }

            text.AppendLine();
        }

        return text.ToString();
    }

    private static string Short(TokenVariant variant) =>
        variant == TokenVariant.Ours ? "ours" : variant == TokenVariant.Naive ? "naive" : variant == TokenVariant.CacheOnly ? "cache-only" : "cut-only";

    public string ToJson() => JsonSerializer.Serialize(new
    {
        benchmark = "agent-tokens",
        machine = Machine,
        ratio = Ratio,
        aim = AgentTokensBenchmark.Aim,
        met = Ratio <= AgentTokensBenchmark.Aim,
        valid = Valid,
        runs = Runs.Select(r => new
        {
            variant = r.Variant.Name,
            r.Variant.Cache,
            r.Variant.Cut,
            r.Variant.Condense,
            r.Finished,
            stop_reason = r.StopReason,
            calls = r.Calls.Count,
            prompt = r.Prompt,
            input = r.Input,
            cache_write = r.CacheWrite,
            cache_read = r.CacheRead,
            output = r.Output,
            billed = r.Billed,
            usd = r.Usd,
            ledger_usd = r.Calls.Sum(c => c.Usd),
            condensed = r.Condensed,
            cut_outputs = r.CutOutputs,
            per_call = r.Calls,
        }),
    });
}
