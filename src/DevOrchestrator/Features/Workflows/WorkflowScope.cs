using System.Globalization;
using DevOrchestrator.Abstractions;

namespace DevOrchestrator.Features.Workflows;

/// <summary>What references resolve against.</summary>
public sealed class WorkflowScope
{
    public IReadOnlyDictionary<string, object?> Variables { get; init; } = new Dictionary<string, object?>();
    public WorkflowTaskInfo? Task { get; init; }
    public WorkflowProjectInfo? Project { get; init; }
    public IReadOnlyDictionary<string, WorkflowStepState> Steps { get; init; } = new Dictionary<string, WorkflowStepState>();

    /// <summary>The value of a reference, or null when it names nothing (yet).</summary>
    public object? Lookup(WorkflowReference reference)
    {
        var path = reference.Path;
        switch (reference.Root)
        {
            case "variables":
                return path.Count > 0 && Variables.TryGetValue(path[0], out var variable) ? Descend(variable, path, 1) : null;
            case "task" when Task is { } task && path.Count == 1:
                return path[0] switch
                {
                    "id" => task.Id,
                    "title" => task.Title,
                    "description" => task.Description,
                    "source" => task.Source,
                    "external_id" => task.ExternalId,
                    "branch" => task.Branch,
                    _ => null,
                };
            case "project" when Project is { } project && path.Count == 1:
                return path[0] switch
                {
                    "id" => project.Id,
                    "name" => project.Name,
                    "repository_url" => project.RepositoryUrl,
                    "default_branch" => project.DefaultBranch,
                    "test_command" => project.TestCommand,
                    _ => null,
                };
            case "steps" when path.Count > 0 && Steps.TryGetValue(path[0], out var step):
                if (path.Count == 1)
                {
                    return step.Outputs;
                }

                if (path[1] == "status")
                {
                    return step.Status;
                }

                return step.Outputs.TryGetValue(path[1], out var output) ? Descend(output, path, 2) : null;
            default:
                return null;
        }
    }

    private static object? Descend(object? value, IReadOnlyList<string> path, int from)
    {
        for (var i = from; i < path.Count && value is not null; i++)
        {
            value = value switch
            {
                IReadOnlyDictionary<string, object?> map => map.TryGetValue(path[i], out var next) ? next : null,
                IList<object?> list when int.TryParse(path[i], CultureInfo.InvariantCulture, out var index) && index >= 0 && index < list.Count => list[index],
                _ => null,
            };
        }

        return value;
    }
}
