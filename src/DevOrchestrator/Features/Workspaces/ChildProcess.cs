using System.Diagnostics;
using System.Text;

namespace DevOrchestrator.Features.Workspaces;

/// <summary>
/// Runs a child process with a replaced environment, a time limit and capped output. Timeout or cancellation kills the
/// whole process tree at once (the process group of its session, and every descendant still attached), so that nothing
/// it started keeps running.
/// </summary>
public static class ChildProcess
{
    private static readonly Lazy<string?> s_setsid = new(() => FindProgram("setsid"));

    /// <summary>Runs to the end; throws <see cref="OperationCanceledException"/> (after killing the tree) when cancelled.</summary>
    public static async Task<ChildProcessResult> RunAsync(ChildProcessStart start, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var useSession = start.NewSession && OperatingSystem.IsLinux() && s_setsid.Value is not null;
        var info = new ProcessStartInfo
        {
            FileName = useSession ? s_setsid.Value! : start.FileName,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = start.WorkingDirectory ?? string.Empty,
        };
        if (useSession)
        {
            info.ArgumentList.Add(start.FileName);
        }

        foreach (var argument in start.Arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment.Clear();
        foreach (var (key, value) in start.Environment)
        {
            info.Environment[key] = value;
        }

        var started = timeProvider.GetTimestamp();
        using var process = new Process { StartInfo = info };
        process.Start();
        process.StandardInput.Close();
        var half = Math.Max(512, start.OutputLimitBytes / 2);
        var stdout = new CappedOutput(half);
        var stderr = new CappedOutput(half);
        var readOut = stdout.ReadAllAsync(process.StandardOutput.BaseStream);
        var readErr = stderr.ReadAllAsync(process.StandardError.BaseStream);

        using var timeout = new CancellationTokenSource(start.Timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(linked.Token);
        }
        catch (OperationCanceledException)
        {
            timedOut = !cancellationToken.IsCancellationRequested;
            await KillTreeAsync(process, useSession);
        }

        // Output pipes close once every process holding them is gone. After a normal exit the readers get their time
        // (a starved thread pool can be seconds late to drain them); after a kill, or when something that escaped keeps
        // the pipes open, the wait is bounded and the result says its output is incomplete rather than passing as whole.
        var readers = Task.WhenAll(readOut, readErr);
        var killed = timedOut || cancellationToken.IsCancellationRequested;
        await Task.WhenAny(readers, Task.Delay(TimeSpan.FromSeconds(killed ? 2 : 15), CancellationToken.None));
        cancellationToken.ThrowIfCancellationRequested();
        var complete = readers.IsCompleted;
        var exitCode = process.HasExited ? process.ExitCode : -1;
        var errors = stderr.ToString();
        if (!complete && !killed)
        {
            errors += "\n[devorch: the output is incomplete: a process that outlived the command kept its pipes open]";
            exitCode = exitCode == 0 ? -1 : exitCode;
        }

        return new ChildProcessResult(timedOut ? -1 : exitCode, stdout.ToString(), errors, timedOut,
            stdout.Truncated || stderr.Truncated || !complete, timeProvider.GetElapsedTime(started));
    }

    private static async Task KillTreeAsync(Process process, bool ownSession)
    {
        var pid = process.Id;
        if (ownSession && OperatingSystem.IsLinux())
        {
            // setsid exec'ed the program, so its pid is the id of its process group: kill the group at once, orphans included.
            _ = NativeMethods.kill(-pid, NativeMethods.SIGKILL);
        }

        try
        {
            // And anything that left the group but is still a descendant.
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Exited while we enumerated its tree.
        }

        try
        {
            await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(2));
        }
        catch (TimeoutException)
        {
            // Unkillable (stuck in the kernel): report it as killed; the caller moves on.
        }
    }

    internal static string? FindProgram(string name)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static class NativeMethods
    {
        public const int SIGKILL = 9;

        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        [System.Runtime.InteropServices.DefaultDllImportSearchPaths(System.Runtime.InteropServices.DllImportSearchPath.SafeDirectories)]
        public static extern int kill(int pid, int sig);
    }

    /// <summary>Keeps the first and the last <c>half</c> bytes of a stream and counts what it drops.</summary>
    private sealed class CappedOutput(int half)
    {
        private readonly List<byte> _head = new(Math.Min(half, 64 * 1024));
        // Allocated only when the output outgrows the head: most commands print little, and this is half the cap.
        private byte[]? _tail;
        private long _tailWritten;
        private long _total;

        public bool Truncated => _total > 2L * half;

        public async Task ReadAllAsync(Stream stream)
        {
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await stream.ReadAsync(buffer, CancellationToken.None)) > 0)
            {
                Append(buffer.AsSpan(0, read));
            }
        }

        private void Append(ReadOnlySpan<byte> data)
        {
            _total += data.Length;
            var toHead = Math.Min(data.Length, half - _head.Count);
            if (toHead > 0)
            {
                _head.AddRange(data[..toHead]);
                data = data[toHead..];
            }

            if (data.IsEmpty)
            {
                return;
            }

            _tail ??= new byte[half];
            foreach (var b in data)
            {
                _tail[_tailWritten % half] = b;
                _tailWritten++;
            }
        }

        public override string ToString()
        {
            var head = Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_head));
            if (_tailWritten == 0 || _tail is null)
            {
                return head;
            }

            byte[] tail;
            if (_tailWritten <= half)
            {
                tail = _tail[..(int)_tailWritten];
            }
            else
            {
                var start = (int)(_tailWritten % half);
                tail = [.. _tail[start..], .. _tail[..start]];
            }

            var dropped = _total - _head.Count - tail.Length;
            var text = Encoding.UTF8.GetString(tail);
            return dropped > 0 ? $"{head}\n… [output truncated: {dropped} bytes omitted] …\n{text}" : head + text;
        }
    }
}
