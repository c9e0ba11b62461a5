namespace DevOrchestrator.Features.Workflows;

public sealed class WorkflowStepDefinition
{
    public required string Name { get; init; }
    public required string Type { get; init; }
    public string? Plugin { get; init; }
    public string? Action { get; init; }

    /// <summary>Inputs as written (scalars typed: bool, long, double, string, null; maps and lists nested), before <c>${…}</c> resolution.</summary>
    public IReadOnlyDictionary<string, object?> Inputs { get; init; } = new Dictionary<string, object?>();

    /// <summary>The outputs to keep; empty keeps them all.</summary>
    public IReadOnlyList<string> Outputs { get; init; } = [];

    /// <summary>A <see cref="WhenExpression"/>; null runs the step always.</summary>
    public string? When { get; init; }
    public string OnError { get; init; } = OnErrorPolicies.Fail;
    public int RetryCount { get; init; }

    /// <summary>The values of the step type's own keys (e.g. <c>agent</c> of an <c>ai_action</c>), as written.</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    /// <summary>
    /// The tools the step's development agent is offered (its own <c>agent_tools:</c>, else the workflow's; always with
    /// finish); null offers every tool. For verify and review steps: the tools of the development turns they send back.
    /// </summary>
    public IReadOnlyList<string>? AgentTools { get; init; }

    /// <summary>The step's line in its file (1-based), for messages.</summary>
    public int Line { get; init; }

    /// <summary><c>plugin.action</c> for plugin steps, else the type.</summary>
    public string Qualified => Type == WorkflowStepTypes.PluginAction ? $"{Plugin}.{Action}" : Type;
}
