using System.Globalization;
using System.Net;

namespace DevOrchestrator.Bench;

/// <summary>What one run of the load generator does; bounded so that it always stops by itself.</summary>
internal sealed record BenchOptions(
    string Server,
    string Token,
    string Mode,
    int Count,
    int Concurrency,
    double? DurationSeconds,
    string Workflow,
    double Rate,
    bool AutoStart,
    int Warmup,
    double WaitSeconds,
    string? Label,
    int? ServerPid,
    string? Metrics)
{
    public const int MaxCount = 1_000_000;
    public const int MaxConcurrency = 512;
    public const double MaxDurationSeconds = 600;

    /// <summary>How long sending may last: <c>--duration</c>, or the cap, so that every run stops by itself.</summary>
    public TimeSpan SendLimit => TimeSpan.FromSeconds(DurationSeconds ?? MaxDurationSeconds);

    public Uri ServerUri => new(Server.TrimEnd('/') + "/", UriKind.Absolute);

    public string Name => Label ?? Mode;

    public Uri MetricsUri => new(Metrics ?? Server.TrimEnd('/') + "/metrics", UriKind.Absolute);

    /// <summary>Every problem with the options, each naming the option.</summary>
    public List<string> Validate()
    {
        var problems = new List<string>();
        if (!Uri.TryCreate(Server, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            problems.Add("--server must be an http:// or https:// URL.");
        }
        else if (!IsLoopback(uri))
        {
            problems.Add($"--server must be on this machine (127.0.0.1, ::1 or localhost), not {uri.Host}: the load generator only loads local servers.");
        }

        if (Metrics is not null && (!Uri.TryCreate(Metrics, UriKind.Absolute, out var metricsUri) || !IsLoopback(metricsUri)))
        {
            problems.Add("--metrics must be an http:// URL on this machine.");
        }

        if (Token.Length == 0)
        {
            problems.Add("--token (or DEVORCH_TOKEN) is required: create one with 'devorch token create --email E'.");
        }

        if (Count is < 1 or > MaxCount)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"--count must be between 1 and {MaxCount}."));
        }

        if (Concurrency is < 1 or > MaxConcurrency)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"--concurrency must be between 1 and {MaxConcurrency}."));
        }

        if (DurationSeconds is { } d && (d <= 0 || d > MaxDurationSeconds))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"--duration must be more than 0 and at most {MaxDurationSeconds} seconds."));
        }

        if (Rate is < 0 or > 100_000)
        {
            problems.Add("--rate must be between 0 (unpaced) and 100000 tasks per second.");
        }

        if (Warmup is < 0 or > MaxCount)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"--warmup must be between 0 and {MaxCount}."));
        }

        if (WaitSeconds is <= 0 or > MaxDurationSeconds)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"--wait must be more than 0 and at most {MaxDurationSeconds} seconds."));
        }

        return problems;
    }

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
}
