using System.Diagnostics;

namespace DevOrchestrator.IntegrationTests.Infrastructure;

/// <summary>Real git repositories for tests.</summary>
public static class GitFixtures
{
    /// <summary>Creates a bare repository with one commit on <c>main</c> (README.md) and returns its path.</summary>
    public static async Task<string> CreateBareRepositoryAsync(string root, CancellationToken ct)
    {
        var bare = Path.Combine(root, "remote-" + Guid.NewGuid().ToString("N")[..8] + ".git");
        var seed = bare + "-seed";
        Directory.CreateDirectory(seed);
        await GitAsync(root, ct, "init", "--bare", "--initial-branch=main", bare);
        await GitAsync(seed, ct, "init", "--initial-branch=main");
        await File.WriteAllTextAsync(Path.Combine(seed, "README.md"), "# test repo\n", ct);
        await GitAsync(seed, ct, "add", "-A");
        await GitAsync(seed, ct, "-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-m", "initial");
        await GitAsync(seed, ct, "push", bare, "main:refs/heads/main");
        return bare;
    }

    public static async Task<string> GitAsync(string workingDirectory, CancellationToken ct, params string[] args)
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"git {string.Join(' ', args)} failed: {await stderr}");
        }

        return (await stdout).Trim();
    }
}
