using System.Diagnostics;

namespace DevOrchestrator.IntegrationTests.Infrastructure;

/// <summary>How tests start the real <c>devorch</c> executable, as a user would: its own process and nothing of ours in its environment.</summary>
internal static class DevorchProcess
{
    /// <summary>
    /// <c>dotnet devorch.dll ARGS</c> with only PATH, HOME, LANG and the .NET variables inherited, plus
    /// <paramref name="environment"/> (null values left out): other tests in this process set variables of their own.
    /// </summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> args, IEnumerable<KeyValuePair<string, string?>> environment, string workingDirectory)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "devorch.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Clear();
        foreach (var name in new[] { "PATH", "HOME", "LANG", "DOTNET_ROOT", "DOTNET_CLI_HOME", "TMPDIR" })
        {
            if (Environment.GetEnvironmentVariable(name) is { } value)
            {
                start.Environment[name] = value;
            }
        }

        foreach (var (key, value) in environment)
        {
            if (value is not null)
            {
                start.Environment[key] = value;
            }
        }

        return start;
    }
}
