using System.Diagnostics;
using DevOrchestrator.Features.Workspaces;
using DevOrchestrator.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.IntegrationTests.Workspaces;

public sealed class SandboxTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "devorch-sbx-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly string _workspace;

    public SandboxTests()
    {
        _workspace = Path.Combine(_root, "workspace");
        Directory.CreateDirectory(_workspace);
    }

    private Sandbox CreateSandbox(string mode = "auto", int outputLimit = 4096) =>
        new(Options.Create(new SandboxOptions { SandboxMode = mode, SandboxOutputLimitBytes = outputLimit }),
            Options.Create(new WorkspaceOptions { WorkspacesDir = Path.Combine(_root, "ws") }), Options.Create(new ServerOptions()), TimeProvider.System, NullLogger<Sandbox>.Instance);

    private SandboxCommand Command(string command, int timeoutSeconds = 30) => new(command, _workspace, _workspace, TimeSpan.FromSeconds(timeoutSeconds));

    [Theory]
    [InlineData("auto")]
    [InlineData("process")]
    public async Task TheCommandSeesNoneOfTheServicesEnvironment(string mode)
    {
        // Secrets in the service's own environment (names of our own: a real GITHUB_TOKEN here would configure the GitHub
        // plugin of every host that other tests start in this process meanwhile).
        Environment.SetEnvironmentVariable("DEVORCH_SANDBOX_TEST_TOKEN", "secret123");
        Environment.SetEnvironmentVariable("DEVORCH_SANDBOX_TEST_DATABASE_URL", "postgresql://u:dbsecret@h/db");
        SandboxResult result;
        try
        {
            result = await CreateSandbox(mode).RunAsync(Command("env; echo done"), TestContext.Current.CancellationToken);
        }
        finally
        {
            Environment.SetEnvironmentVariable("DEVORCH_SANDBOX_TEST_TOKEN", null);
            Environment.SetEnvironmentVariable("DEVORCH_SANDBOX_TEST_DATABASE_URL", null);
        }

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("done", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("secret123", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("dbsecret", result.Stdout, StringComparison.Ordinal);
        var names = result.Stdout.Split('\n').Where(l => l.Contains('=', StringComparison.Ordinal)).Select(l => l[..l.IndexOf('=', StringComparison.Ordinal)]).ToHashSet();
        Assert.Subset(new HashSet<string> { "PATH", "HOME", "LANG", "TERM", "TMPDIR", "PWD", "SHLVL", "_", "OLDPWD" }, names);
    }

    [Fact]
    public async Task ATimeoutKillsTheCommandQuickly()
    {
        var watch = Stopwatch.StartNew();
        var result = await CreateSandbox().RunAsync(Command("sleep 30", timeoutSeconds: 1), TestContext.Current.CancellationToken);

        Assert.True(result.TimedOut);
        Assert.NotEqual(0, result.ExitCode);
        Assert.InRange(watch.Elapsed.TotalSeconds, 0.9, 5);
    }

    [Theory]
    [InlineData("auto")]
    [InlineData("process")]
    public async Task CancellationKillsTheWholeProcessTree(string mode)
    {
        var marker = "30." + Random.Shared.Next(100000, 999999);
        var sandbox = CreateSandbox(mode);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var run = sandbox.RunAsync(Command($"sleep {marker} & sleep {marker}"), cancel.Token);
        await WaitUntilAsync(() => SleepersWith(marker).Count >= 2, TimeSpan.FromSeconds(10));
        Assert.Equal(2, SleepersWith(marker).Count);

        var watch = Stopwatch.StartNew();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");

        await WaitUntilAsync(() => SleepersWith(marker).Count == 0, TimeSpan.FromSeconds(2));
        Assert.Empty(SleepersWith(marker));
    }

    [Fact]
    public async Task OutputIsCappedKeepingHeadAndTail()
    {
        var result = await CreateSandbox(outputLimit: 4096).RunAsync(
            Command("echo START; i=0; while [ $i -lt 2000 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done; echo END"),
            TestContext.Current.CancellationToken);

        Assert.Equal(0, result.ExitCode);
        Assert.True(result.OutputTruncated);
        Assert.StartsWith("START", result.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("END\n", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("output truncated", result.Stdout, StringComparison.Ordinal);
        Assert.InRange(result.Stdout.Length, 4000, 4300);
    }

    [Fact]
    public async Task WithBubblewrapThereIsNoNetworkAndOnlyTheWorkspaceIsWritable()
    {
        var sandbox = CreateSandbox("auto");
        var ct = TestContext.Current.CancellationToken;
        if (await sandbox.GetModeAsync(ct) != Sandbox.BubblewrapMode)
        {
            Assert.Skip("bubblewrap is not usable on this machine");
        }

        var result = await sandbox.RunAsync(Command("cat /proc/net/dev; touch inside.txt && echo wrote; touch /usr/outside.txt 2>/dev/null || echo readonly"), ct);

        var interfaces = result.Stdout.Split('\n').Where(l => l.Contains(':', StringComparison.Ordinal) && !l.Contains('|', StringComparison.Ordinal))
            .Select(l => l.Split(':')[0].Trim()).ToList();
        Assert.Equal(["lo"], interfaces);
        Assert.Contains("wrote", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("readonly", result.Stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_workspace, "inside.txt")));
    }

    /// <summary>Live processes whose command line is <c>sleep {marker}</c>.</summary>
    private static List<int> SleepersWith(string marker)
    {
        var found = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            try
            {
                var cmdline = File.ReadAllText(Path.Combine(directory, "cmdline"));
                var state = File.ReadAllText(Path.Combine(directory, "stat"));
                var zombie = state.Split(')').Last().TrimStart().StartsWith('Z');
                if (cmdline == $"sleep\0{marker}\0" && !zombie)
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
                // Exited while we looked.
            }
            catch (UnauthorizedAccessException)
            {
                // Not ours.
            }
        }

        return found;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan limit)
    {
        var watch = Stopwatch.StartNew();
        while (!condition() && watch.Elapsed < limit)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
