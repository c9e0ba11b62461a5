using System.Diagnostics;

namespace DevOrchestrator.Bench;

/// <summary>Runs git for the benchmarks' own set-up (repositories, worktrees), with no user or system configuration.</summary>
internal static class BenchGit
{
    public static async Task<string> RunAsync(string? directory, CancellationToken cancellationToken, params string[] arguments)
    {
        var info = new ProcessStartInfo("git")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (directory is not null)
        {
            info.ArgumentList.Add("-C");
            info.ArgumentList.Add(directory);
        }

        foreach (var argument in (string[])["-c", "user.name=DevOrchestrator Bench", "-c", "user.email=bench@example.com", "-c", "commit.gpgsign=false", .. arguments])
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["GIT_CONFIG_NOSYSTEM"] = "1";
        info.Environment["GIT_CONFIG_GLOBAL"] = "/dev/null";
        info.Environment["GIT_TERMINAL_PROMPT"] = "0";
        info.Environment["GIT_AUTHOR_DATE"] = "2026-01-01T00:00:00Z";
        info.Environment["GIT_COMMITTER_DATE"] = "2026-01-01T00:00:00Z";
        using var process = Process.Start(info) ?? throw new InvalidOperationException("git did not start");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"git {string.Join(' ', arguments)} failed (exit {process.ExitCode}): {(await stderr).Trim()}");
        }

        return (await stdout).Trim();
    }

    /// <summary>Creates a repository at <paramref name="directory"/> (which holds the files already) with one commit on <c>main</c>.</summary>
    public static async Task InitAndCommitAsync(string directory, string message, CancellationToken cancellationToken)
    {
        await RunAsync(directory, cancellationToken, "init", "-q", "-b", "main");
        await RunAsync(directory, cancellationToken, "add", "-A");
        await RunAsync(directory, cancellationToken, "commit", "-q", "-m", message);
    }
}
