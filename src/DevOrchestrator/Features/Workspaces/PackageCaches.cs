namespace DevOrchestrator.Features.Workspaces;

/// <summary>
/// A project's package caches: <c>PACKAGE_CACHE_DIR/project-{id}</c> (default <c>./package-caches</c>), bound
/// read-write into every sandboxed command of the project, with the package managers pointed at it: NuGet
/// (<c>NUGET_PACKAGES</c>, <c>NUGET_HTTP_CACHE_PATH</c>), npm (<c>npm_config_cache</c>), Yarn
/// (<c>YARN_CACHE_FOLDER</c>), pip (<c>PIP_CACHE_DIR</c>) and Go (<c>GOMODCACHE</c>). Commands without network also
/// get <c>npm_config_offline=true</c> and <c>GOPROXY=off</c>, so npm and Go use the cache at once instead of retrying
/// the network for minutes. One directory per project: one repository's packages never reach another's commands.
/// </summary>
public sealed record PackageCaches(string Root)
{
    public static PackageCaches For(WorkspaceOptions settings, long projectId) =>
        new(Path.Combine(Path.GetFullPath(settings.PackageCacheDir), "project-" + projectId.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>The caches of a project, or null for a command that belongs to no project.</summary>
    public static PackageCaches? For(WorkspaceOptions settings, long? projectId) => projectId is { } id ? For(settings, id) : null;

    public IReadOnlyDictionary<string, string> Environment(bool network)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["NUGET_PACKAGES"] = Path.Combine(Root, "nuget", "packages"),
            ["NUGET_HTTP_CACHE_PATH"] = Path.Combine(Root, "nuget", "http-cache"),
            ["NUGET_PLUGINS_CACHE_PATH"] = Path.Combine(Root, "nuget", "plugins-cache"),
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
            ["npm_config_cache"] = Path.Combine(Root, "npm"),
            ["npm_config_update_notifier"] = "false",
            ["YARN_CACHE_FOLDER"] = Path.Combine(Root, "yarn"),
            ["PIP_CACHE_DIR"] = Path.Combine(Root, "pip"),
            ["GOMODCACHE"] = Path.Combine(Root, "go", "mod"),
        };
        if (!network)
        {
            environment["npm_config_offline"] = "true";
            environment["GOPROXY"] = "off";
        }

        return environment;
    }

    /// <summary>The command with the caches bound and their variables set (its own variables win).</summary>
    public SandboxCommand Apply(SandboxCommand command)
    {
        var environment = new Dictionary<string, string>(Environment(command.Network), StringComparer.Ordinal);
        foreach (var (name, value) in command.Environment)
        {
            environment[name] = value;
        }

        return command with { WritableDirectories = [.. command.WritableDirectories, Root], Environment = environment };
    }
}
