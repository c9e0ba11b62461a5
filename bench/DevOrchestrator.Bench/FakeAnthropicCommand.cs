using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using DevOrchestrator.FakeVendors;

namespace DevOrchestrator.Bench;

/// <summary>
/// <c>devorch-bench fake-anthropic</c> (hidden): the fake Anthropic server of <see cref="ConcurrencyTrajectory"/> in a
/// process of its own, so that the agents' process measures only the agents. It prints one JSON line (base URL, key),
/// serves until its standard input closes (or it is stopped), then prints its request counts as a second line.
/// </summary>
internal static class FakeAnthropicCommand
{
    public const string Name = "fake-anthropic";

    public static Command Create()
    {
        var delayMs = new Option<int>("--delay-ms") { Description = "How long each reply waits (0..60000 ms)", DefaultValueFactory = _ => 1000 };
        var command = new Command(Name, "A fake Anthropic server for agent-concurrency (internal)") { delayMs };
        command.Hidden = true;
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var delay = TimeSpan.FromMilliseconds(Math.Clamp(parseResult.GetValue(delayMs), 0, 60_000));
            await using var server = await FakeAnthropicServer.StartAsync(new FakeModelServerOptions { RecordRequests = false }, cancellationToken);
            server.Respond(request => ConcurrencyTrajectory.Reply(request, delay));
            await Console.Out.WriteLineAsync(new JsonObject { ["base_url"] = server.BaseUrl.ToString(), ["api_key"] = server.ApiKey }.ToJsonString());
            await Console.Out.FlushAsync(cancellationToken);
            try
            {
                await Console.In.ReadToEndAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }

            await Console.Out.WriteLineAsync(JsonSerializer.Serialize(new { total = server.TotalRequests, by_status = server.RequestsByStatus.ToDictionary(p => p.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), p => p.Value) }));
            await Console.Out.FlushAsync(CancellationToken.None);
            return 0;
        });
        return command;
    }
}

/// <summary>The parent's handle on a <see cref="FakeAnthropicCommand"/> child process.</summary>
internal sealed class FakeAnthropicProcess : IAsyncDisposable
{
    private readonly Process _process;

    private FakeAnthropicProcess(Process process, Uri baseUrl, string apiKey)
    {
        _process = process;
        BaseUrl = baseUrl;
        ApiKey = apiKey;
    }

    public Uri BaseUrl { get; }
    public string ApiKey { get; }
    public int ProcessId => _process.Id;

    /// <summary>The child's last line: its request counts (set by <see cref="StopAsync"/>).</summary>
    public string? Stats { get; private set; }

    public static async Task<FakeAnthropicProcess> StartAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        // This very program, run again: through the dotnet host when that is how we were started.
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find this program's path");
        var info = new ProcessStartInfo(self) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            info.ArgumentList.Add(typeof(FakeAnthropicProcess).Assembly.Location);
        }

        info.ArgumentList.Add(FakeAnthropicCommand.Name);
        info.ArgumentList.Add("--delay-ms");
        info.ArgumentList.Add(((int)delay.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
        info.Environment["DOTNET_gcServer"] = "0";
        var process = Process.Start(info) ?? throw new InvalidOperationException("the fake model server did not start");
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token) ?? throw new InvalidOperationException("the fake model server exited before it was ready");
            var json = JsonNode.Parse(line)!;
            return new FakeAnthropicProcess(process, new Uri(json["base_url"]!.GetValue<string>()), json["api_key"]!.GetValue<string>());
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    /// <summary>Closes the child's input, reads its counts and waits for it to exit (killing it after 10 s).</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited)
        {
            return;
        }

        _process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            Stats = await _process.StandardOutput.ReadLineAsync(timeout.Token);
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
        }
    }
}
