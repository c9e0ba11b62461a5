using System.Diagnostics;
using System.Text;

namespace DevOrchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// A <c>devorch serve</c> replica running as its own process: its address and everything it wrote to stdout and
/// stderr (kept for assertions and for the message of a failing test). Disposing kills it (SIGKILL) if still running.
/// </summary>
internal sealed class ServiceProcess : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private readonly Task _pumps;

    public ServiceProcess(Process process, Uri address)
    {
        Process = process;
        Address = address;
        _pumps = Task.WhenAll(PumpAsync(process.StandardOutput), PumpAsync(process.StandardError));
    }

    public Process Process { get; }

    public Uri Address { get; }

    /// <summary>What the process wrote so far (stdout and stderr, interleaved by line).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>An HTTP client for this replica that sends the same Authorization header as <paramref name="authenticated"/>.</summary>
    public HttpClient ClientLike(HttpClient authenticated)
    {
        var client = new HttpClient { BaseAddress = Address };
        client.DefaultRequestHeaders.Authorization = authenticated.DefaultRequestHeaders.Authorization;
        return client;
    }

    /// <summary>Kills the process at once (no shutdown, no hand-back: a crash) and waits for it to be gone.</summary>
    public async Task KillAsync()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
        }

        await Process.WaitForExitAsync(CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        await _pumps.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(static _ => { }, TaskScheduler.Default);
        Process.Dispose();
    }

    private async Task PumpAsync(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
