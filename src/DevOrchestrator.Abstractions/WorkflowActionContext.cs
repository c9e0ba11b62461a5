namespace DevOrchestrator.Abstractions;

/// <summary>Everything an action may read: its resolved inputs and the task it works for.</summary>
public sealed class WorkflowActionContext
{
    public required WorkflowTaskInfo Task { get; init; }
    public WorkflowProjectInfo? Project { get; init; }
    public required long WorkflowExecutionId { get; init; }

    /// <summary>The agent execution (the worker's run of the task) this step belongs to.</summary>
    public long? AgentExecutionId { get; init; }
    public required string StepName { get; init; }
    public required IReadOnlyDictionary<string, object?> Inputs { get; init; }

    /// <summary>Outputs of the steps that completed before this one, by step name.</summary>
    public required IReadOnlyDictionary<string, IReadOnlyDictionary<string, object?>> StepOutputs { get; init; }

    /// <summary>Reports progress lines (stored as events).</summary>
    public IProgress<string>? Progress { get; init; }

    public string? GetString(string input) => Inputs.TryGetValue(input, out var value) ? WorkflowInputValues.Text(value) : null;

    /// <summary>A <see cref="WorkflowInputType.Boolean"/> input, or <paramref name="absent"/> when it is not given.</summary>
    public bool GetBoolean(string input, bool absent)
    {
        if (!Inputs.TryGetValue(input, out var value) || value is null)
        {
            return absent;
        }

        return WorkflowInputValues.TryBoolean(value, out var result)
            ? result
            : throw new WorkflowActionException(WorkflowInputValues.Problem(input, WorkflowInputType.Boolean, value)!);
    }

    /// <summary>A number input of type <paramref name="type"/>, or null when it is not given.</summary>
    public long? GetNumber(string input, WorkflowInputType type)
    {
        if (!Inputs.TryGetValue(input, out var value) || value is null || value is string { Length: 0 })
        {
            return null;
        }

        return WorkflowInputValues.Problem(input, type, value) is { } problem
            ? throw new WorkflowActionException(problem)
            : WorkflowInputValues.TryNumber(value, out var number) ? number : null;
    }

    public string RequireString(string input) =>
        GetString(input) is { Length: > 0 } value ? value : throw new WorkflowActionException($"input '{input}' is required");
}
