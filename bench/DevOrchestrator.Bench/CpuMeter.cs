using System.Diagnostics;
using System.Globalization;

namespace DevOrchestrator.Bench;

/// <summary>
/// CPU time used by this process and, when <c>--server-pid</c> names it, by the server (from <c>/proc/PID/stat</c>,
/// Linux only) over a run: on a small machine the client and the server compete for the same cores, and this says how.
/// </summary>
internal sealed class CpuMeter
{
    private static readonly int[] s_busyFields = [1, 2, 3, 6, 7, 8];
    private readonly int? _serverPid;
    private readonly TimeSpan _clientStart;
    private readonly TimeSpan? _serverStart;
    private readonly long _wallStart = Stopwatch.GetTimestamp();
    private readonly double? _machineStart = MachineBusySeconds();

    public CpuMeter(int? serverPid)
    {
        _serverPid = serverPid;
        _clientStart = ClientCpu();
        _serverStart = ServerCpu(serverPid);
    }

    /// <summary>CPU seconds of the client and the server since this meter started, with the wall time.</summary>
    public (double Wall, double Client, double? Server, double? Machine) Read()
    {
        var wall = Stopwatch.GetElapsedTime(_wallStart).TotalSeconds;
        var client = (ClientCpu() - _clientStart).TotalSeconds;
        var server = _serverStart is { } start && ServerCpu(_serverPid) is { } now ? (now - start).TotalSeconds : (double?)null;
        var machine = _machineStart is { } m0 && MachineBusySeconds() is { } m1 ? m1 - m0 : (double?)null;
        return (wall, client, server, machine);
    }

    public void Describe(IDictionary<string, string> parameters, List<string> notes, int requests)
    {
        var (wall, client, server, machine) = Read();
        parameters["client_cpu_s"] = client.ToString("0.00", CultureInfo.InvariantCulture);
        var text = string.Create(CultureInfo.InvariantCulture, $"CPU over {wall:0.00} s on {Environment.ProcessorCount} cores: client {client:0.00} s ({client / wall * 100:0}% of one core)");
        if (server is { } s)
        {
            parameters["server_cpu_s"] = s.ToString("0.00", CultureInfo.InvariantCulture);
            text += string.Create(CultureInfo.InvariantCulture, $", server {s:0.00} s ({s / wall * 100:0}% of one core, {s * 1000 / Math.Max(1, requests):0.00} ms per request)");
        }

        if (machine is { } busy)
        {
            var others = Math.Max(0, busy - client - (server ?? 0));
            parameters["other_cpu_s"] = others.ToString("0.00", CultureInfo.InvariantCulture);
            text += string.Create(CultureInfo.InvariantCulture, $"; the whole machine was busy {busy / wall / Environment.ProcessorCount * 100:0}%, other processes {others:0.00} s ({others / wall * 100:0}% of one core)");
        }

        notes.Add(text + ".");
    }

    /// <summary>Busy CPU seconds of the whole machine (all cores) from the first line of <c>/proc/stat</c>.</summary>
    private static double? MachineBusySeconds()
    {
        if (!File.Exists("/proc/stat"))
        {
            return null;
        }

        using var reader = new StreamReader("/proc/stat");
        var fields = (reader.ReadLine() ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 8 || fields[0] != "cpu")
        {
            return null;
        }

        // user nice system idle iowait irq softirq steal: everything but idle and iowait is busy.
        var ticks = s_busyFields.Where(i => i < fields.Length).Sum(i => long.Parse(fields[i], CultureInfo.InvariantCulture));
        return ticks / 100.0;
    }

    private static TimeSpan ClientCpu()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    private static TimeSpan? ServerCpu(int? pid)
    {
        if (pid is null || !File.Exists($"/proc/{pid}/stat"))
        {
            return null;
        }

        // Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15 (in clock ticks, 100 per second on Linux).
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }
}
