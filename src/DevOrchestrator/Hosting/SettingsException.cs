namespace DevOrchestrator.Hosting;

/// <summary>A setting that stops the process at start; the message names the variable.</summary>
public sealed class SettingsException(IReadOnlyList<string> errors)
    : Exception("Invalid settings:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => "  - " + e)))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
