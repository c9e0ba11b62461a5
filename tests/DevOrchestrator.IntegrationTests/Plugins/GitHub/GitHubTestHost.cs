using System.Diagnostics;
using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.FakeVendors;
using DevOrchestrator.Plugins.GitHub;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.IntegrationTests.Plugins.GitHub;

/// <summary>
/// A <see cref="FakeGitHubServer"/> over a temporary directory of bare repositories, and the real GitHub plugin
/// resolved from a real service collection (in-memory configuration pointing at the fake, <c>AddGitHub()</c>).
/// </summary>
internal sealed class GitHubTestHost : IAsyncDisposable
{
    public const string Owner = "acme";
    public const string Repo = "widgets";

    private GitHubTestHost(string root, FakeGitHubServer server, IConfigurationRoot configuration, ServiceProvider services)
    {
        Root = root;
        Server = server;
        Configuration = configuration;
        Services = services;
        Plugin = services.GetRequiredService<GitHubPlugin>();
    }

    public string Root { get; }
    public FakeGitHubServer Server { get; }
    public IConfigurationRoot Configuration { get; }
    public ServiceProvider Services { get; }
    public GitHubPlugin Plugin { get; }

    /// <summary>The web address of the test repository (what a project's repository_url holds).</summary>
    public string RepositoryUrl => Server.WebUrl(Owner, Repo);

    public static async Task<GitHubTestHost> StartAsync(
        CancellationToken cancellationToken, PluginResilienceOptions? resilience = null, Action<IServiceCollection>? configureServices = null, bool createRepository = true)
    {
        var root = Path.Combine(Path.GetTempPath(), "devorch-github-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(root);
        var server = await FakeGitHubServer.StartAsync(Path.Combine(root, "remote"), cancellationToken: cancellationToken);
        if (createRepository)
        {
            await server.CreateRepositoryAsync(Owner, Repo, cancellationToken: cancellationToken);
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["GITHUB_TOKEN"] = server.Token,
            ["GITHUB_API_URL"] = server.ApiUrl.ToString(),
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging();
        services.AddSingleton(resilience ?? new PluginResilienceOptions
        {
            RetryBaseDelay = TimeSpan.FromMilliseconds(20),
            RequestsPerSecond = 1000,
            AttemptTimeout = TimeSpan.FromSeconds(30),
        });
        configureServices?.Invoke(services);
        services.AddGitHub();
        return new GitHubTestHost(root, server, configuration, services.BuildServiceProvider(validateScopes: true));
    }

    /// <summary>Changes a setting the way a stored configuration would (a reload the options monitor follows).</summary>
    public void SetSetting(string key, string? value)
    {
        Configuration[key] = value;
        Configuration.Reload();
    }

    /// <summary>Runs git with no system or user configuration; <paramref name="config"/> goes in through GIT_CONFIG_* (as the host does).</summary>
    public static async Task<GitRun> GitAsync(string workingDirectory, IReadOnlyList<KeyValuePair<string, string>> config, CancellationToken cancellationToken, params string[] args)
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("GIT_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["GIT_CONFIG_NOSYSTEM"] = "1";
        start.Environment["GIT_CONFIG_GLOBAL"] = "/dev/null";
        start.Environment["GIT_TERMINAL_PROMPT"] = "0";
        start.Environment["GIT_ASKPASS"] = "";
        start.Environment.Remove("SSH_ASKPASS");
        start.Environment["GIT_AUTHOR_NAME"] = start.Environment["GIT_COMMITTER_NAME"] = "Test";
        start.Environment["GIT_AUTHOR_EMAIL"] = start.Environment["GIT_COMMITTER_EMAIL"] = "test@example.com";
        start.Environment["GIT_CONFIG_COUNT"] = config.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 0; i < config.Count; i++)
        {
            start.Environment[$"GIT_CONFIG_KEY_{i}"] = config[i].Key;
            start.Environment[$"GIT_CONFIG_VALUE_{i}"] = config[i].Value;
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return new GitRun(process.ExitCode, (await output).Trim(), (await error).Trim());
    }

    public async ValueTask DisposeAsync()
    {
        await Services.DisposeAsync();
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

internal sealed record GitRun(int ExitCode, string Output, string Error)
{
    public string Check() => ExitCode == 0 ? Output : throw new InvalidOperationException($"git failed ({ExitCode}): {Error}");
}
