namespace DevOrchestrator.Features.Workspaces;

/// <summary>
/// What a bubblewrap sandbox sees of the host: an allow-list. The system directories a build needs
/// (<see cref="SystemDirectories"/>), the toolchains outside them (the directory of the <c>dotnet</c> and <c>node</c> the
/// service finds on its PATH, <c>DOTNET_ROOT</c>) and <c>SANDBOX_READONLY_PATHS</c> are bound read-only; nothing else of
/// the host exists inside. Hidden paths stay hidden even where they lie inside an allowed directory (an empty tmpfs over
/// a directory, <c>/dev/null</c> over a file): <c>DATA_DIR</c>, <c>WORKSPACES_DIR</c> (but for the command's own
/// worktree), the service user's home, <c>/root</c>, <c>/run/secrets</c>, <c>/var/run/secrets</c>, the directory of every
/// <c>*_FILE</c> variable that names a file, the service's <c>.env</c> and <c>appsettings*.json</c>, and the password and
/// SSH host key files of <c>/etc</c>.
/// </summary>
internal sealed class SandboxLayout
{
    /// <summary>Bound read-only (a top-level symlink such as <c>/bin → usr/bin</c> is recreated as that symlink).</summary>
    public static readonly IReadOnlyList<string> SystemDirectories = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"];

    /// <summary>Programs whose installation directory is bound read-only when it lies outside the system directories.</summary>
    private static readonly string[] s_toolchainPrograms = ["dotnet", "node"];

    private static readonly string[] s_standardPath = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

    private SandboxLayout(IReadOnlyList<string> symlinks, IReadOnlyList<string> readOnly, IReadOnlyList<string> hiddenDirectories, IReadOnlyList<string> hiddenFiles, string searchPath)
    {
        SystemSymlinks = symlinks;
        ReadOnlyDirectories = readOnly;
        HiddenDirectories = hiddenDirectories;
        HiddenFiles = hiddenFiles;
        SearchPath = searchPath;
    }

    /// <summary>System directories that are symlinks on the host (merged /usr), recreated inside as the same symlink.</summary>
    public IReadOnlyList<string> SystemSymlinks { get; }

    /// <summary>Every directory bound read-only: the existing system directories, toolchains, <c>SANDBOX_READONLY_PATHS</c>.</summary>
    public IReadOnlyList<string> ReadOnlyDirectories { get; }

    public IReadOnlyList<string> HiddenDirectories { get; }

    public IReadOnlyList<string> HiddenFiles { get; }

    /// <summary>PATH inside: the service's PATH entries that are visible inside, then the standard system directories.</summary>
    public string SearchPath { get; }

    /// <summary>The layout for these settings and the service's environment (HOME, PATH, DOTNET_ROOT, <c>*_FILE</c>, DEVORCH_ENV_FILE).</summary>
    public static SandboxLayout Create(SandboxOptions settings, string dataDir, string workspacesDir, IReadOnlyDictionary<string, string> environment, string currentDirectory)
    {
        var symlinks = new List<string>();
        var readOnly = new List<string>();
        foreach (var directory in SystemDirectories)
        {
            var info = new DirectoryInfo(directory);
            if (info.LinkTarget is not null)
            {
                symlinks.Add(directory);
            }
            else if (info.Exists)
            {
                readOnly.Add(directory);
            }
        }

        foreach (var toolchain in Toolchains(environment).Concat(ConfiguredPaths(settings.SandboxReadOnlyPaths)))
        {
            if (Directory.Exists(toolchain) && !readOnly.Any(bound => IsWithin(toolchain, bound)))
            {
                readOnly.Add(toolchain);
            }
        }

        var hiddenDirectories = new List<string>
        {
            Path.GetFullPath(dataDir), Path.GetFullPath(workspacesDir), "/root", "/run/secrets", "/var/run/secrets",
        };
        if (environment.GetValueOrDefault("HOME") is { Length: > 0 } home && Path.IsPathRooted(home))
        {
            hiddenDirectories.Add(Path.GetFullPath(home));
        }

        var hiddenFiles = new List<string> { "/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-" };
        if (Directory.Exists("/etc/ssh"))
        {
            hiddenFiles.AddRange(Directory.EnumerateFiles("/etc/ssh", "ssh_host_*_key"));
        }

        foreach (var (name, value) in environment)
        {
            // Docker-style secrets (JWT_SECRET_KEY_FILE=/run/secrets/jwt): the file and its directory. Certificate bundles
            // (SSL_CERT_FILE and the like) are public and needed for TLS, so they stay.
            if (!name.EndsWith("_FILE", StringComparison.Ordinal) || name.Contains("CERT", StringComparison.Ordinal) ||
                !Path.IsPathRooted(value) || !File.Exists(value))
            {
                continue;
            }

            var file = Path.GetFullPath(value);
            hiddenFiles.Add(file);
            var directory = Path.GetDirectoryName(file)!;

            // A secret directly in a system directory (/etc/x) hides only itself: hiding /etc would break every command.
            if (!SystemDirectories.Any(system => IsWithin(system, directory)))
            {
                hiddenDirectories.Add(directory);
            }
        }

        // The files the service read its settings from (secrets may be in them).
        hiddenFiles.Add(Path.GetFullPath(environment.GetValueOrDefault("DEVORCH_ENV_FILE") is { Length: > 0 } envFile ? envFile : Path.Combine(currentDirectory, ".env")));
        if (Directory.Exists(currentDirectory))
        {
            hiddenFiles.AddRange(Directory.EnumerateFiles(currentDirectory, "appsettings*.json"));
        }

        // Never "/" or a system directory itself (or a parent of one): it is not bound as a whole anyway.
        hiddenDirectories = [.. hiddenDirectories.Distinct(StringComparer.Ordinal).Where(h => !SystemDirectories.Any(system => IsWithin(system, h)))];
        hiddenFiles = [.. hiddenFiles.Distinct(StringComparer.Ordinal)];

        var searchPath = (environment.GetValueOrDefault("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Where(Path.IsPathRooted)
            .Select(Path.GetFullPath)
            .Where(d => Visible(d, readOnly, hiddenDirectories))
            .Concat(s_standardPath)
            .Distinct(StringComparer.Ordinal);
        return new SandboxLayout(symlinks, readOnly, hiddenDirectories, hiddenFiles, string.Join(':', searchPath));
    }

    /// <summary>The entries of <c>SANDBOX_READONLY_PATHS</c> (separated by commas or colons).</summary>
    public static IEnumerable<string> ConfiguredPaths(string? setting) =>
        (setting ?? string.Empty).Split([',', ':'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(Path.GetFullPath);

    /// <summary>True when <paramref name="path"/> is <paramref name="directory"/> or inside it.</summary>
    public static bool IsWithin(string path, string directory) =>
        path == directory || directory == "/" || path.StartsWith(directory + "/", StringComparison.Ordinal);

    /// <summary>Inside a bound directory, and not inside a hidden one as deep or deeper (a hidden path wins a tie).</summary>
    public static bool Visible(string path, IReadOnlyList<string> bound, IReadOnlyList<string> hidden)
    {
        var deepestBound = bound.Where(b => IsWithin(path, b)).MaxBy(b => b.Length);
        var deepestHidden = hidden.Where(h => IsWithin(path, h)).MaxBy(h => h.Length);
        return deepestBound is not null && (deepestHidden is null || deepestBound.Length > deepestHidden.Length);
    }

    /// <summary>
    /// Installation directories of the toolchains the service finds on its PATH: the directory of the resolved program
    /// (its parent when that is a <c>bin</c>), and <c>DOTNET_ROOT</c>.
    /// </summary>
    private static IEnumerable<string> Toolchains(IReadOnlyDictionary<string, string> environment)
    {
        if (environment.GetValueOrDefault("DOTNET_ROOT") is { Length: > 0 } dotnetRoot && Path.IsPathRooted(dotnetRoot))
        {
            yield return Path.GetFullPath(dotnetRoot);
        }

        var path = (environment.GetValueOrDefault("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries);
        foreach (var program in s_toolchainPrograms)
        {
            var found = path.Where(Path.IsPathRooted).Select(d => Path.Combine(d, program)).FirstOrDefault(File.Exists);
            if (found is null)
            {
                continue;
            }

            var resolved = new FileInfo(found).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Path.GetFullPath(found);
            var directory = Path.GetDirectoryName(resolved)!;
            yield return Path.GetFileName(directory) == "bin" ? Path.GetDirectoryName(directory)! : directory;
        }
    }
}
