using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Workflows;

/// <summary>
/// Which workflows exist: the built-in ones (embedded <c>workflows.*.yaml</c> resources) and every <c>*.yaml</c> /
/// <c>*.yml</c> in WORKFLOWS_DIR, a file overriding the built-in of the same name. Invalid files are skipped with a
/// warning. The directory is re-scanned when a file in it was added, removed or changed.
/// </summary>
public sealed partial class WorkflowCatalog(WorkflowValidator validator, IOptions<WorkflowOptions> options, ILogger<WorkflowCatalog> logger)
{
    public const string BuiltInSource = "builtin";

    private readonly Lock _gate = new();
    private IReadOnlyList<WorkflowDefinition>? _builtIn;
    private string? _stamp;
    private IReadOnlyList<WorkflowDefinition> _all = [];

    public IReadOnlyList<WorkflowDefinition> List()
    {
        var directory = Path.GetFullPath(options.Value.WorkflowsDir);
        var files = WorkflowFiles(directory);
        var stamp = string.Join('|', files.Select(f => $"{f.FullName}:{f.LastWriteTimeUtc.Ticks}:{f.Length}"));
        lock (_gate)
        {
            if (_builtIn is null || stamp != _stamp)
            {
                _builtIn ??= LoadBuiltIn();
                var byName = _builtIn.ToDictionary(w => w.Name, StringComparer.Ordinal);
                foreach (var file in files)
                {
                    if (LoadFile(file) is { } definition)
                    {
                        if (byName.TryGetValue(definition.Name, out var existing) && existing.Source != BuiltInSource)
                        {
                            LogDuplicate(logger, definition.Name, file.FullName, existing.Source);
                        }

                        byName[definition.Name] = definition;
                    }
                }

                _all = byName.Values.OrderBy(w => w.Name, StringComparer.Ordinal).ToList();
                _stamp = stamp;
            }

            return _all;
        }
    }

    public WorkflowDefinition? Find(string name) => List().FirstOrDefault(w => w.Name == name);

    private static List<FileInfo> WorkflowFiles(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return [];
        }

        try
        {
            return new DirectoryInfo(directory).EnumerateFiles()
                .Where(f => f.Extension is ".yaml" or ".yml")
                .OrderBy(f => f.Name, StringComparer.Ordinal)
                .ToList();
        }
        catch (IOException)
        {
            return [];
        }
    }

    private WorkflowDefinition? LoadFile(FileInfo file)
    {
        string yaml;
        try
        {
            yaml = File.ReadAllText(file.FullName);
        }
        catch (IOException ex)
        {
            LogUnreadable(logger, ex, file.FullName);
            return null;
        }
        catch (UnauthorizedAccessException ex)
        {
            LogUnreadable(logger, ex, file.FullName);
            return null;
        }

        var result = validator.Parse(yaml, file.FullName);
        if (!result.IsValid)
        {
            LogInvalid(logger, file.FullName, string.Join("; ", result.Errors.Select(e => e.ToString())));
            return null;
        }

        return result.Definition;
    }

    private List<WorkflowDefinition> LoadBuiltIn()
    {
        var assembly = typeof(WorkflowCatalog).Assembly;
        var definitions = new List<WorkflowDefinition>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith("workflows.", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            var result = validator.Parse(reader.ReadToEnd(), BuiltInSource);
            if (result.Definition is { } definition)
            {
                definitions.Add(definition);
            }
            else
            {
                // A broken built-in is a bug of ours; the unit tests parse every one of them.
                LogInvalid(logger, resource, string.Join("; ", result.Errors.Select(e => e.ToString())));
            }
        }

        return definitions;
    }

    /// <summary>Reads a built-in workflow's YAML (for tests and <c>workflows validate</c>).</summary>
    public static string? ReadBuiltInYaml(string name)
    {
        using var stream = typeof(WorkflowCatalog).Assembly.GetManifestResourceStream($"workflows.{name}.yaml");
        if (stream is null)
        {
            return null;
        }

        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipping invalid workflow file {File}: {Errors}")]
    private static partial void LogInvalid(ILogger logger, string file, string errors);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipping unreadable workflow file {File}")]
    private static partial void LogUnreadable(ILogger logger, Exception exception, string file);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Workflow {Name} in {File} replaces the one in {Other}")]
    private static partial void LogDuplicate(ILogger logger, string name, string file, string other);
}
