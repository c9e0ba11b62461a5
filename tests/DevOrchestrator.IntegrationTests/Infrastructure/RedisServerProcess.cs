using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace DevOrchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// A Redis server of the test's own (<c>redis-server --port P --daemonize yes</c>, no persistence), to kill in the
/// middle of a run and start again on the same port.
/// </summary>
internal sealed class RedisServerProcess : IAsyncDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("devorch-redis-").FullName;

    private RedisServerProcess(int port) => Port = port;

    public int Port { get; }

    public string Url => $"redis://127.0.0.1:{Port}/0";

    private string PidFile => Path.Combine(_dir, "redis.pid");

    public static async Task<RedisServerProcess> StartAsync()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var server = new RedisServerProcess(port);
        await server.RestartAsync();
        return server;
    }

    /// <summary>Starts the server (again) on its port and waits until it answers PING.</summary>
    public async Task RestartAsync()
    {
        await RunAsync("redis-server", "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--daemonize", "yes", "--pidfile", PidFile, "--dir", _dir, "--save", "", "--appendonly", "no");
        await HttpJson.EventuallyAsync(async () => (await RunAsync("redis-cli", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "ping")).Contains("PONG", StringComparison.Ordinal),
            answered => answered, TimeSpan.FromSeconds(20));
    }

    /// <summary>Kills the server (SIGKILL: no shutdown) and waits for it to exit.</summary>
    public async Task KillAsync()
    {
        var pid = int.Parse((await File.ReadAllTextAsync(PidFile)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        using (var process = Process.GetProcessById(pid))
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        File.Delete(PidFile);
    }

    private static async Task<string> RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        output += await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output;
    }

    public async ValueTask DisposeAsync()
    {
        if (File.Exists(PidFile))
        {
            try
            {
                await KillAsync();
            }
            catch (ArgumentException)
            {
                // Already gone.
            }
        }

        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
