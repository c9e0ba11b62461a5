using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Workspaces;

/// <summary>Where the worktrees live, how many are pooled, the commits' author, and the per-project setup phase and package caches.</summary>
public sealed class WorkspaceOptions
{
    [ConfigurationKeyName("WORKSPACES_DIR")] public string WorkspacesDir { get; set; } = "./workspaces";

    /// <summary>Finished worktrees kept per repository mirror for the next task to recycle (0: remove them instead).</summary>
    [ConfigurationKeyName("WORKSPACE_POOL_SIZE")]
    public int WorkspacePoolSize { get; set; } = 4;

    /// <summary>Disk (MiB) the pooled, idle worktrees of all repositories may take together; least recently used go first (0: no limit).</summary>
    [ConfigurationKeyName("WORKSPACES_MAX_DISK_MB")] public long WorkspacesMaxDiskMb { get; set; } = 10_240;

    /// <summary>Author and committer of the commits the service makes in worktrees (git's global identity is never used).</summary>
    [ConfigurationKeyName("DEVORCH_GIT_AUTHOR_NAME")] public string GitAuthorName { get; set; } = WorkspaceActions.BotName;
    [ConfigurationKeyName("DEVORCH_GIT_AUTHOR_EMAIL")] public string GitAuthorEmail { get; set; } = WorkspaceActions.BotEmail;

    /// <summary>Per-project package caches filled by the setup phase and reused offline (<c>{dir}/project-{id}</c>).</summary>
    [ConfigurationKeyName("PACKAGE_CACHE_DIR")] public string PackageCacheDir { get; set; } = "./package-caches";

    /// <summary>Time limit of each command of the per-worktree setup phase.</summary>
    [ConfigurationKeyName("SETUP_TIMEOUT_SECONDS")] public int SetupTimeoutSeconds { get; set; } = 1800;

    /// <summary>The secret scan before every commit and push of the <c>workspace</c> actions (<see cref="SecretScanner"/>).</summary>
    [ConfigurationKeyName("SECRET_SCAN_ENABLED")] public bool SecretScanEnabled { get; set; } = true;

    /// <summary>Added text (bytes) scanned per file and commit; the rest of a larger file is not scanned (the step's outputs name it).</summary>
    [ConfigurationKeyName("SECRET_SCAN_MAX_FILE_BYTES")] public long SecretScanMaxFileBytes { get; set; } = 1_048_576;
}

internal sealed class WorkspaceOptionsValidator : IValidateOptions<WorkspaceOptions>
{
    public ValidateOptionsResult Validate(string? name, WorkspaceOptions options)
    {
        var errors = new List<string>();
        if (options.WorkspacePoolSize is < 0 or > 100)
        {
            errors.Add($"WORKSPACE_POOL_SIZE must be between 0 and 100 pooled worktrees per repository (got {options.WorkspacePoolSize}; 0 turns the pool off).");
        }

        if (options.WorkspacesMaxDiskMb < 0)
        {
            errors.Add($"WORKSPACES_MAX_DISK_MB must be 0 (no limit) or a positive number of MiB (got {options.WorkspacesMaxDiskMb}).");
        }

        if (string.IsNullOrWhiteSpace(options.GitAuthorName) || options.GitAuthorName.Length > 200 || options.GitAuthorName.IndexOfAny(['<', '>', '\n', '\r', '\0']) >= 0)
        {
            errors.Add("DEVORCH_GIT_AUTHOR_NAME must be a name of 1-200 characters without '<', '>' or line breaks.");
        }

        if (string.IsNullOrWhiteSpace(options.GitAuthorEmail) || options.GitAuthorEmail.Length > 320 || options.GitAuthorEmail.IndexOfAny(['<', '>', ' ', '\n', '\r', '\0']) >= 0)
        {
            errors.Add("DEVORCH_GIT_AUTHOR_EMAIL must be an email address without spaces, '<' or '>' (for example devorch@example.com).");
        }

        if (options.SetupTimeoutSeconds < 1)
        {
            errors.Add($"SETUP_TIMEOUT_SECONDS must be at least 1 (got {options.SetupTimeoutSeconds}).");
        }

        if (options.SecretScanMaxFileBytes < 1024)
        {
            errors.Add($"SECRET_SCAN_MAX_FILE_BYTES must be at least 1024 bytes of added text per file (got {options.SecretScanMaxFileBytes}).");
        }

        if (string.IsNullOrWhiteSpace(options.PackageCacheDir))
        {
            errors.Add("PACKAGE_CACHE_DIR must not be empty.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
