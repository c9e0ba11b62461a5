using System.Globalization;
using System.Text;
using System.Text.Json;

namespace DevOrchestrator.Bench;

/// <summary>One measured quantity of a run: how many samples, how fast, how they were distributed.</summary>
internal sealed record ResultRow(string Measure, Distribution Latency, double? ThroughputPerSecond = null);

/// <summary>The outcome of one run, printed as a markdown table and as one JSON line.</summary>
internal sealed record BenchResult(
    string Label,
    string Mode,
    IReadOnlyDictionary<string, string> Parameters,
    IReadOnlyList<ResultRow> Rows,
    int Errors,
    IReadOnlyDictionary<string, int> ErrorKinds,
    IReadOnlyList<string> Notes)
{
    private static readonly JsonSerializerOptions s_json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public bool Succeeded => Errors == 0 && Rows.Count > 0 && Rows[0].Latency.Count > 0;

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"**{Label}** — {string.Join(", ", Parameters.Select(p => $"{p.Key}={p.Value}"))}, errors={Errors}");
        if (ErrorKinds.Count > 0)
        {
            text.Append(" (").AppendJoin(", ", ErrorKinds.Select(e => $"{e.Key}: {e.Value}")).Append(')');
        }

        text.AppendLine().AppendLine();
        text.AppendLine("| measure | n | throughput /s | mean ms | p50 ms | p90 ms | p99 ms | max ms |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in Rows)
        {
            var d = row.Latency;
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {row.Measure} | {d.Count} | {(row.ThroughputPerSecond is { } t ? t.ToString("0", CultureInfo.InvariantCulture) : "")} | {Ms(d.Mean)} | {Ms(d.P50)} | {Ms(d.P90)} | {Ms(d.P99)} | {Ms(d.Max)} |");
        }

        foreach (var note in Notes)
        {
            text.AppendLine().Append("- ").Append(note);
        }

        return text.ToString().TrimEnd() + Environment.NewLine;
    }

    public string ToJson() => JsonSerializer.Serialize(new
    {
        label = Label,
        mode = Mode,
        parameters = Parameters,
        errors = Errors,
        error_kinds = ErrorKinds,
        rows = Rows.Select(r => new
        {
            measure = r.Measure,
            n = r.Latency.Count,
            throughput_per_s = r.ThroughputPerSecond is { } t ? Math.Round(t, 1) : (double?)null,
            mean_ms = Round(r.Latency.Mean),
            p50_ms = Round(r.Latency.P50),
            p90_ms = Round(r.Latency.P90),
            p99_ms = Round(r.Latency.P99),
            max_ms = Round(r.Latency.Max),
        }),
        notes = Notes,
    }, s_json);

    private static string Ms(double value) => double.IsNaN(value) ? "–" : value.ToString(value < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture);

    private static double? Round(double value) => double.IsNaN(value) ? null : Math.Round(value, 3);
}
