using System.Text.RegularExpressions;
using DevOrchestrator.Abstractions;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Workspaces;

/// <summary>
/// Runs the <c>git</c> CLI: arguments as a list, a scrubbed environment (no service secrets, no prompts, no global or
/// system config), cancellation killing the process tree, and failures that carry git's stderr with any credentials in
/// URLs masked.
/// </summary>
public sealed partial class GitCli(IOptions<WorkspaceOptions> options, TimeProvider timeProvider)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(15);

    /// <summary>Runs <c>git [-C directory] args…</c>; throws <see cref="WorkflowActionException"/> on a non-zero exit unless allowed.</summary>
    /// <param name="config">
    /// git configuration for this one command (credentials of a code host), passed through <c>GIT_CONFIG_COUNT</c> /
    /// <c>GIT_CONFIG_KEY_n</c> / <c>GIT_CONFIG_VALUE_n</c> in its environment: never on the command line (visible to
    /// other users in the process list), never in a config file.
    /// </param>
    public async Task<GitResult> RunAsync(string? directory, IReadOnlyList<string> arguments, CancellationToken cancellationToken, bool allowFailure = false,
        IReadOnlyList<KeyValuePair<string, string>>? config = null)
    {
        var args = new List<string>();
        if (directory is not null)
        {
            args.Add("-C");
            args.Add(directory);
        }

        args.AddRange(arguments);
        var result = await ChildProcess.RunAsync(new ChildProcessStart
        {
            FileName = "git",
            Arguments = args,
            Environment = Environment(config),
            Timeout = s_timeout,
            OutputLimitBytes = 4_000_000,
        }, timeProvider, cancellationToken);
        var git = new GitResult(result.ExitCode, result.Stdout, result.Stderr, result.OutputTruncated);
        if (!allowFailure && (result.ExitCode != 0 || result.TimedOut))
        {
            var subcommand = arguments.FirstOrDefault(a => !a.StartsWith('-') && !a.Contains('=', StringComparison.Ordinal)) ?? "command";
            var detail = result.TimedOut ? "timed out" : $"exit {result.ExitCode}";
            throw new WorkflowActionException($"git {subcommand} failed ({detail}): {Redact(result.Stderr.Trim())}");
        }

        return git;
    }

    private Dictionary<string, string> Environment(IReadOnlyList<KeyValuePair<string, string>>? config)
    {
        var home = Path.Combine(Path.GetFullPath(options.Value.WorkspacesDir), ".git-home");
        Directory.CreateDirectory(home);
        var environment = ScrubbedEnvironment(home);
        if (config is { Count: > 0 })
        {
            environment["GIT_CONFIG_COUNT"] = config.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            for (var i = 0; i < config.Count; i++)
            {
                environment[$"GIT_CONFIG_KEY_{i}"] = config[i].Key;
                environment[$"GIT_CONFIG_VALUE_{i}"] = config[i].Value;
            }
        }

        return environment;
    }

    /// <summary>The whole environment git runs with: nothing inherited except PATH.</summary>
    internal static Dictionary<string, string> ScrubbedEnvironment(string home) =>
        new(StringComparer.Ordinal)
        {
            ["PATH"] = System.Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin",
            ["HOME"] = home,
            ["LANG"] = "C.UTF-8",
            ["LC_ALL"] = "C.UTF-8",
            ["GIT_TERMINAL_PROMPT"] = "0",
            ["GIT_CONFIG_NOSYSTEM"] = "1",
            ["GIT_ASKPASS"] = "/bin/false",
            ["SSH_ASKPASS"] = "/bin/false",
            ["GCM_INTERACTIVE"] = "never",
        };

    [GeneratedRegex(@"(?<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)[^/@\s]+@")]
    private static partial Regex UrlCredentials();

    [GeneratedRegex(@"(?i)(authorization|extraheader)\s*[:=]\s*\S.*")]
    private static partial Regex AuthorizationHeader();

    /// <summary>Masks <c>user:token@</c> in URLs and authorization headers.</summary>
    public static string Redact(string text) =>
        AuthorizationHeader().Replace(UrlCredentials().Replace(text, "${scheme}***@"), "$1: ***");
}
