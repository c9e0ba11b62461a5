using System.Globalization;
using System.Runtime.InteropServices;

namespace DevOrchestrator.Bench;

/// <summary>The machine a benchmark ran on, from <c>/proc</c> and <c>/sys</c> (Linux; "unknown" elsewhere).</summary>
internal static class MachineInfo
{
    /// <summary>Lines describing the CPU, memory, kernel, runtime and the disk under <paramref name="directory"/>.</summary>
    public static IReadOnlyList<string> Describe(string directory)
    {
        var cpu = ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        var memKb = ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))?
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        var memory = memKb is null ? "unknown" : string.Create(CultureInfo.InvariantCulture, $"{long.Parse(memKb, CultureInfo.InvariantCulture) / 1024:N0} MiB");
        return
        [
            string.Create(CultureInfo.InvariantCulture, $"CPU: {cpu}, {Environment.ProcessorCount} cores (nproc)"),
            $"memory: {memory}",
            $"OS: {RuntimeInformation.OSDescription}; .NET {Environment.Version}",
            "disk: " + Disk(directory),
            "load average at start: " + (ReadLines("/proc/loadavg").FirstOrDefault() ?? "unknown"),
        ];
    }

    /// <summary>File system, device and what the kernel says about it (rotational flag, model, driver).</summary>
    private static string Disk(string directory)
    {
        var full = Path.GetFullPath(directory);

        // /proc/self/mountinfo: id parent major:minor root mount-point options … - fstype source super-options
        var best = ReadLines("/proc/self/mountinfo")
            .Select(l => l.Split(' '))
            .Where(f => f.Length > 6 && Array.IndexOf(f, "-") is var dash && dash > 0 && dash + 2 < f.Length)
            .Select(f => (MountPoint: f[4].Replace("\\040", " ", StringComparison.Ordinal), Device: f[2], FsType: f[Array.IndexOf(f, "-") + 1], Source: f[Array.IndexOf(f, "-") + 2]))
            .Where(m => full == m.MountPoint || full.StartsWith(m.MountPoint.TrimEnd('/') + "/", StringComparison.Ordinal))
            .OrderByDescending(m => m.MountPoint.Length)
            .FirstOrDefault();
        if (best.MountPoint is null)
        {
            return "unknown";
        }

        var text = $"{best.FsType} on {best.Source} (mounted at {best.MountPoint})";
        var block = $"/sys/dev/block/{best.Device}";
        if (Directory.Exists(block))
        {
            var device = new DirectoryInfo(block).ResolveLinkTarget(true)?.FullName ?? block;
            if (File.Exists(Path.Combine(device, "partition")))
            {
                device = Path.GetDirectoryName(device)!;
            }

            var rotational = ReadLines(Path.Combine(device, "queue", "rotational")).FirstOrDefault();
            var model = ReadLines(Path.Combine(device, "device", "model")).FirstOrDefault()?.Trim();
            var driver = new DirectoryInfo(Path.Combine(device, "device", "driver")).ResolveLinkTarget(true)?.Name;
            text += $"; block device {Path.GetFileName(device)}, rotational={rotational ?? "?"}";
            if (!string.IsNullOrEmpty(model))
            {
                text += $", model {model}";
            }

            if (driver is not null)
            {
                text += $", driver {driver}";
            }
        }

        return text;
    }

    private static string[] ReadLines(string path)
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
