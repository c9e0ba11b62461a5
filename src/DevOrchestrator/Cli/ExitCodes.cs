namespace DevOrchestrator.Cli;

/// <summary>The exit codes of every <c>devorch</c> command (README, "Commands").</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The command ran and failed: a server or database that cannot be reached, an HTTP error, a failed task or check.</summary>
    public const int Failure = 1;

    /// <summary>Bad usage or input: an unknown command or option, a missing or malformed value, an invalid setting, a request the server refused as invalid (400/422).</summary>
    public const int Usage = 2;

    /// <summary><c>devorch run</c>: a budget stopped the task.</summary>
    public const int BudgetExceeded = 3;
}
