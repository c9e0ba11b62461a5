using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;

namespace DevOrchestrator.Bench;

/// <summary>The machine and runtime an in-process benchmark ran on (Linux <c>/proc</c>; "unknown" elsewhere).</summary>
internal static class BenchMachine
{
    public static IReadOnlyList<string> Describe()
    {
        var cpu = Lines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        var memKb = Lines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        var memory = memKb is null ? "unknown" : string.Create(CultureInfo.InvariantCulture, $"{long.Parse(memKb, CultureInfo.InvariantCulture) / 1024.0 / 1024.0:0.0} GiB");
        return
        [
            string.Create(CultureInfo.InvariantCulture, $"nproc: {Environment.ProcessorCount}; CPU: {cpu}; memory: {memory}"),
            $"OS: {RuntimeInformation.OSDescription}; .NET {Environment.Version}; GC: {(GCSettings.IsServerGC ? "server" : "workstation")}{(GCSettings.LatencyMode == GCLatencyMode.Batch ? " (non-concurrent)" : string.Empty)}",
            "load average at start: " + (Lines("/proc/loadavg").FirstOrDefault() ?? "unknown"),
        ];
    }

    private static string[] Lines(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllLines(path) : [];
        }
        catch (IOException)
        {
            return [];
        }
        catch (UnauthorizedAccessException)
        {
            return [];
        }
    }
}
