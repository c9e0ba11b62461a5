using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Workspaces;

/// <summary>The sandbox that runs every command of an agent or a workflow step: its mode, time and output limits, and extra read-only paths.</summary>
public sealed class SandboxOptions
{
    [ConfigurationKeyName("SANDBOX_TIMEOUT_SECONDS")]
    [Range(1, int.MaxValue, ErrorMessage = "SANDBOX_TIMEOUT_SECONDS must be at least 1.")]
    public int SandboxTimeoutSeconds { get; set; } = 600;

    [ConfigurationKeyName("SANDBOX_OUTPUT_LIMIT_BYTES")]
    [Range(1024, int.MaxValue, ErrorMessage = "SANDBOX_OUTPUT_LIMIT_BYTES must be at least 1024.")]
    public int SandboxOutputLimitBytes { get; set; } = 1_000_000;

    /// <summary><c>auto</c> (bubblewrap when present), <c>bubblewrap</c> (required) or <c>process</c> (no network isolation).</summary>
    [ConfigurationKeyName("SANDBOX_MODE")]
    [AllowedValues("auto", Sandbox.BubblewrapMode, Sandbox.ProcessMode, ErrorMessage = "SANDBOX_MODE must be auto, bubblewrap or process.")]
    public string SandboxMode { get; set; } = "auto";

    /// <summary>More directories (absolute, separated by commas or colons) bound read-only into the bubblewrap sandbox: toolchains outside the system directories.</summary>
    [ConfigurationKeyName("SANDBOX_READONLY_PATHS")] public string? SandboxReadOnlyPaths { get; set; }
}

[OptionsValidator]
internal sealed partial class SandboxOptionsRangeValidator : IValidateOptions<SandboxOptions>;

internal sealed class SandboxOptionsValidator : IValidateOptions<SandboxOptions>
{
    public ValidateOptionsResult Validate(string? name, SandboxOptions options) =>
        (options.SandboxReadOnlyPaths ?? string.Empty).Split([',', ':'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .FirstOrDefault(p => !p.StartsWith('/')) is { } relativePath
            ? ValidateOptionsResult.Fail($"SANDBOX_READONLY_PATHS must list absolute directories separated by commas or colons (got '{relativePath}').")
            : ValidateOptionsResult.Success;
}
