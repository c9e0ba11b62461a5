using System.Globalization;
using DevOrchestrator.Abstractions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace DevOrchestrator.Features.Workflows;

/// <summary>
/// Parses and checks workflow YAML, reporting every error with its position: YAML syntax, unknown keys, missing
/// name/steps/plugin/action, duplicate step names, unknown plugins, actions and inputs (from the registered
/// <see cref="IWorkflowActions"/>), missing required inputs, bad <c>on_error</c> and <c>retry_count</c>, bad references
/// and <c>when:</c> expressions, and <c>agent_tools:</c> lists naming a tool that does not exist.
/// </summary>
public sealed class WorkflowValidator
{
    private static readonly string[] s_workflowKeys = ["name", "description", "variables", "agent_tools", "steps"];
    private static readonly string[] s_stepKeys = ["name", "type", "description", "plugin", "action", "inputs", "outputs", "when", "on_error", "retry_count", "agent_tools"];
    private const int MaxRetryCount = 10;

    private readonly Dictionary<string, IWorkflowActions> _actionSets;
    private readonly Dictionary<string, IWorkflowStepHandler> _handlers;

    public WorkflowValidator(IEnumerable<IWorkflowActions> actionSets, IEnumerable<IWorkflowStepHandler> handlers)
    {
        _actionSets = actionSets.GroupBy(p => p.Plugin, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
        _handlers = handlers.GroupBy(h => h.Type, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
    }

    public IReadOnlyList<WorkflowError> Validate(string yaml, string source) => Parse(yaml, source).Errors;

    public WorkflowParseResult Parse(string yaml, string source)
    {
        var errors = new List<WorkflowError>();
        YamlStream stream;
        try
        {
            stream = new YamlStream();
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            var message = ex.InnerException is YamlException inner ? inner.Message : ex.Message;
            return new WorkflowParseResult(null, [new WorkflowError(ToLine(ex.Start), ToColumn(ex.Start), "YAML syntax error: " + StripMark(message))]);
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner fails this way on some malformed input (e.g. an unclosed flow sequence).
            var mark = LastGoodMark(yaml);
            return new WorkflowParseResult(null, [new WorkflowError(ToLine(mark), ToColumn(mark), "YAML syntax error: the document cannot be parsed after this point")]);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            var node = stream.Documents.Count > 0 ? stream.Documents[0].RootNode : null;
            return new WorkflowParseResult(null, [new WorkflowError(node is null ? 1 : ToLine(node.Start), node is null ? 1 : ToColumn(node.Start), "a workflow must be a mapping with name and steps")]);
        }

        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode;
            errors.Add(Error(second, "a workflow file holds one document"));
        }

        CheckKeys(root, s_workflowKeys, "workflow", errors);
        var name = RequiredScalar(root, "name", "workflow", errors);
        var description = OptionalScalar(root, "description", errors);

        var variables = ParseVariables(root, errors);
        var agentTools = ParseAgentTools(root, null, errors);
        var steps = ParseSteps(root, agentTools, errors);
        errors.Sort((a, b) => a.Line != b.Line ? a.Line.CompareTo(b.Line) : a.Column.CompareTo(b.Column));
        var definition = errors.Count == 0
            ? new WorkflowDefinition { Name = name!, Description = description, Source = source, Variables = variables, AgentTools = agentTools, Steps = steps }
            : null;
        return new WorkflowParseResult(definition, errors);
    }

    /// <summary>The workflow's <c>variables:</c> mapping (values may reference other variables, never steps).</summary>
    private static Dictionary<string, object?> ParseVariables(YamlMappingNode root, List<WorkflowError> errors)
    {
        var variables = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (Child(root, "variables") is not { } variablesNode)
        {
            return variables;
        }

        if (variablesNode is not YamlMappingNode variablesMap)
        {
            if (!IsNull(variablesNode))
            {
                errors.Add(Error(variablesNode, "variables must be a mapping of names to values"));
            }

            return variables;
        }

        foreach (var (keyNode, valueNode) in variablesMap.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? string.Empty;
            var value = ToValue(valueNode);
            variables[key] = value;
            CheckReferences(value, valueNode, [], 0, allowSteps: false, errors);
        }

        return variables;
    }

    /// <summary>The workflow's <c>steps:</c>, each parsed on its own; a step name used twice is an error at the second.</summary>
    private List<WorkflowStepDefinition> ParseSteps(YamlMappingNode root, IReadOnlyList<string>? agentTools, List<WorkflowError> errors)
    {
        var steps = new List<WorkflowStepDefinition>();
        var stepsNode = Child(root, "steps");
        if (stepsNode is null)
        {
            errors.Add(Error(root, "workflow is missing 'steps'"));
            return steps;
        }

        if (stepsNode is not YamlSequenceNode stepList || stepList.Children.Count == 0)
        {
            errors.Add(Error(stepsNode, "steps must be a non-empty list of steps"));
            return steps;
        }

        var names = stepList.Children.Select(s => s is YamlMappingNode m && Child(m, "name") is YamlScalarNode n ? n.Value ?? string.Empty : string.Empty).ToList();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < stepList.Children.Count; i++)
        {
            if (stepList.Children[i] is not YamlMappingNode stepNode)
            {
                errors.Add(Error(stepList.Children[i], $"step {i + 1} must be a mapping (name, type, plugin, action, …)"));
                continue;
            }

            if (ParseStep(stepNode, i, names, agentTools, errors) is not { } step)
            {
                continue;
            }

            if (seen.TryGetValue(step.Name, out var firstLine))
            {
                errors.Add(Error(Child(stepNode, "name")!, $"duplicate step name '{step.Name}' (first at line {firstLine})"));
            }
            else
            {
                seen[step.Name] = step.Line;
            }

            steps.Add(step);
        }

        return steps;
    }

    private WorkflowStepDefinition? ParseStep(YamlMappingNode node, int index, IReadOnlyList<string> names, IReadOnlyList<string>? agentTools, List<WorkflowError> errors)
    {
        var type = ParseType(node, errors, out var handler);
        CheckKeys(node, handler is null ? s_stepKeys : [.. s_stepKeys, .. handler.Keys], "step", errors);
        var name = RequiredScalar(node, "name", "step", errors);
        string? plugin = null;
        string? action = null;
        if (type == WorkflowStepTypes.PluginAction)
        {
            plugin = RequiredScalar(node, "plugin", "step", errors);
            action = RequiredScalar(node, "action", "step", errors);
        }

        var inputs = ParseInputs(node, index, names, errors, out var inputsNode);
        if (plugin is not null && action is not null)
        {
            CheckActionInputs(node, plugin, action, inputs, inputsNode, errors);
        }
        else if (handler is not null && inputsNode is YamlMappingNode handlerInputs)
        {
            CheckInputTypes(handlerInputs, inputs, handler.InputTypes, errors);
        }

        var outputs = ParseOutputs(node, errors);
        var when = ParseWhen(node, index, names, errors);
        var onError = ParseOnError(node, errors);
        var handlerSettings = ParseHandlerSettings(node, handler, errors);
        var retryCount = ParseRetryCount(node, errors);
        var stepTools = ParseAgentTools(node, agentTools, errors);
        if (stepTools is not null && type != WorkflowStepTypes.AiAction)
        {
            errors.Add(Error(Child(node, "agent_tools")!, "agent_tools applies to ai_action steps only"));
        }

        return name is null
            ? null
            : new WorkflowStepDefinition
            {
                Name = name,
                Type = type,
                Plugin = plugin,
                Action = action,
                Inputs = inputs,
                Outputs = outputs,
                When = when,
                OnError = onError,
                RetryCount = retryCount,
                Settings = handlerSettings,
                AgentTools = type == WorkflowStepTypes.AiAction ? stepTools ?? agentTools : null,
                Line = ToLine(node.Start),
            } is var step && handler?.Check(step) is { } stepProblem
                ? Invalid(step, node, stepProblem, errors)
                : step;
    }

    /// <summary>The step's <c>type</c> (default <c>plugin_action</c>) and the handler of a type other than that.</summary>
    private string ParseType(YamlMappingNode node, List<WorkflowError> errors, out IWorkflowStepHandler? handler)
    {
        var type = OptionalScalar(node, "type", errors) ?? WorkflowStepTypes.PluginAction;
        handler = null;
        if (type != WorkflowStepTypes.PluginAction && !_handlers.TryGetValue(type, out handler))
        {
            var typeNode = Child(node, "type")!;
            errors.Add(Error(typeNode, type == WorkflowStepTypes.AiAction
                ? "type ai_action is not available yet"
                : $"unknown step type '{type}' (use plugin_action{string.Concat(_handlers.Keys.Select(k => ", " + k))})"));
        }

        return type;
    }

    /// <summary>The <c>inputs</c> mapping as values, each <c>${…}</c> reference checked against the steps before this one.</summary>
    private static Dictionary<string, object?> ParseInputs(YamlMappingNode node, int index, IReadOnlyList<string> names, List<WorkflowError> errors, out YamlNode? inputsNode)
    {
        var inputs = new Dictionary<string, object?>(StringComparer.Ordinal);
        inputsNode = Child(node, "inputs");
        if (inputsNode is YamlMappingNode inputsMap)
        {
            foreach (var (keyNode, valueNode) in inputsMap.Children)
            {
                var value = ToValue(valueNode);
                inputs[(keyNode as YamlScalarNode)?.Value ?? string.Empty] = value;
                CheckReferences(value, valueNode, names, index, allowSteps: true, errors);
            }
        }
        else if (inputsNode is not null && !IsNull(inputsNode))
        {
            errors.Add(Error(inputsNode, "inputs must be a mapping"));
        }

        return inputs;
    }

    /// <summary>The plugin and its action exist, every required input is given, no unknown one is, and literals have their type.</summary>
    private void CheckActionInputs(YamlMappingNode node, string plugin, string action, Dictionary<string, object?> inputs, YamlNode? inputsNode, List<WorkflowError> errors)
    {
        if (!_actionSets.TryGetValue(plugin, out var actions))
        {
            errors.Add(Error(Child(node, "plugin")!, $"unknown plugin '{plugin}' (available: {string.Join(", ", _actionSets.Keys.Order())})"));
            return;
        }

        if (!actions.Actions.TryGetValue(action, out var descriptor))
        {
            errors.Add(Error(Child(node, "action")!, $"plugin '{plugin}' has no action '{action}' (available: {string.Join(", ", actions.Actions.Keys.Order())})"));
            return;
        }

        foreach (var required in descriptor.RequiredInputs.Where(r => !inputs.ContainsKey(r)))
        {
            errors.Add(Error(inputsNode ?? node, $"{plugin}.{action} requires input '{required}'"));
        }

        if (inputsNode is YamlMappingNode map)
        {
            foreach (var (keyNode, _) in map.Children)
            {
                var key = (keyNode as YamlScalarNode)?.Value ?? string.Empty;
                if (!descriptor.RequiredInputs.Contains(key) && !descriptor.OptionalInputs.Contains(key))
                {
                    errors.Add(Error(keyNode, $"{plugin}.{action} has no input '{key}' (inputs: {string.Join(", ", descriptor.RequiredInputs.Concat(descriptor.OptionalInputs))})"));
                }
            }

            CheckInputTypes(map, inputs, descriptor.InputTypes, errors);
        }
    }

    private static List<string> ParseOutputs(YamlMappingNode node, List<WorkflowError> errors)
    {
        var outputs = new List<string>();
        if (Child(node, "outputs") is { } outputsNode)
        {
            if (outputsNode is YamlSequenceNode outputList && outputList.Children.All(c => c is YamlScalarNode))
            {
                outputs.AddRange(outputList.Children.Select(c => ((YamlScalarNode)c).Value ?? string.Empty));
            }
            else
            {
                errors.Add(Error(outputsNode, "outputs must be a list of output names"));
            }
        }

        return outputs;
    }

    /// <summary>The <c>when</c> expression, parsed to check its syntax and that it names only earlier steps.</summary>
    private static string? ParseWhen(YamlMappingNode node, int index, IReadOnlyList<string> names, List<WorkflowError> errors)
    {
        var when = OptionalScalar(node, "when", errors);
        if (when is not null)
        {
            try
            {
                var expression = WhenExpression.Parse(when);
                foreach (var reference in expression.References)
                {
                    if (WorkflowTemplate.Check(reference, names, index) is { } problem)
                    {
                        errors.Add(Error(Child(node, "when")!, problem));
                    }
                }
            }
            catch (FormatException ex)
            {
                errors.Add(Error(Child(node, "when")!, "bad when expression: " + ex.Message));
            }
        }

        return when;
    }

    private static string ParseOnError(YamlMappingNode node, List<WorkflowError> errors)
    {
        var onError = OptionalScalar(node, "on_error", errors) ?? OnErrorPolicies.Fail;
        if (!OnErrorPolicies.All.Contains(onError))
        {
            errors.Add(Error(Child(node, "on_error")!, $"on_error must be one of {string.Join(", ", OnErrorPolicies.All)} (got '{onError}')"));
        }

        return onError;
    }

    /// <summary>The values of the keys the step type's handler adds (those present).</summary>
    private static Dictionary<string, string?> ParseHandlerSettings(YamlMappingNode node, IWorkflowStepHandler? handler, List<WorkflowError> errors)
    {
        var handlerSettings = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var key in handler?.Keys ?? [])
        {
            if (Child(node, key) is not null)
            {
                handlerSettings[key] = OptionalScalar(node, key, errors);
            }
        }

        return handlerSettings;
    }

    /// <summary>
    /// An <c>agent_tools:</c> list (of the workflow, or of a step within the workflow's <paramref name="allowed"/>), with
    /// finish added; null when the key is absent. Each unknown or disallowed name is an error at its line.
    /// </summary>
    private static List<string>? ParseAgentTools(YamlMappingNode node, IReadOnlyList<string>? allowed, List<WorkflowError> errors)
    {
        if (Child(node, "agent_tools") is not { } toolsNode || IsNull(toolsNode))
        {
            return null;
        }

        if (toolsNode is not YamlSequenceNode list || !list.Children.All(c => c is YamlScalarNode))
        {
            errors.Add(Error(toolsNode, $"agent_tools must be a list of tool names ({string.Join(", ", AgentToolNames.All)})"));
            return null;
        }

        var tools = new List<string>();
        foreach (var item in list.Children)
        {
            var tool = ((YamlScalarNode)item).Value ?? string.Empty;
            if (!AgentToolNames.All.Contains(tool))
            {
                errors.Add(Error(item, $"unknown agent tool '{tool}' (tools: {string.Join(", ", AgentToolNames.All)})"));
            }
            else if (allowed is not null && !allowed.Contains(tool))
            {
                errors.Add(Error(item, $"agent tool '{tool}' is not in the workflow's agent_tools ({string.Join(", ", allowed)})"));
            }
            else if (!tools.Contains(tool))
            {
                tools.Add(tool);
            }
        }

        if (!tools.Contains(AgentToolNames.Finish))
        {
            tools.Add(AgentToolNames.Finish);
        }

        return tools;
    }

    private static int ParseRetryCount(YamlMappingNode node, List<WorkflowError> errors)
    {
        var retryCount = 0;
        if (OptionalScalar(node, "retry_count", errors) is { } retryText &&
            (!int.TryParse(retryText, NumberStyles.None, CultureInfo.InvariantCulture, out retryCount) || retryCount > MaxRetryCount))
        {
            errors.Add(Error(Child(node, "retry_count")!, $"retry_count must be a whole number from 0 to {MaxRetryCount} (got '{retryText}')"));
        }

        return retryCount;
    }

    /// <summary>
    /// Typed inputs written as literals must have their type (YAML typed them: <c>true</c> is a boolean, <c>"true"</c>
    /// text that reads as one); a value with a <c>${…}</c> reference is checked when the step runs.
    /// </summary>
    private static void CheckInputTypes(YamlMappingNode map, Dictionary<string, object?> inputs, IReadOnlyDictionary<string, WorkflowInputType> types, List<WorkflowError> errors)
    {
        foreach (var (keyNode, valueNode) in map.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? string.Empty;
            if (!types.TryGetValue(key, out var type) || inputs[key] is null || inputs[key] is string text && text.Contains("${", StringComparison.Ordinal))
            {
                continue;
            }

            if (WorkflowInputValues.Problem(key, type, inputs[key]) is { } problem)
            {
                errors.Add(Error(valueNode, problem));
            }
        }
    }

    private static WorkflowStepDefinition Invalid(WorkflowStepDefinition step, YamlMappingNode node, string problem, List<WorkflowError> errors)
    {
        errors.Add(Error(node, problem));
        return step;
    }

    private static void CheckReferences(object? value, YamlNode node, IReadOnlyList<string> names, int index, bool allowSteps, List<WorkflowError> errors)
    {
        if (node is YamlMappingNode map)
        {
            foreach (var (key, child) in map.Children)
            {
                var childValue = value is IReadOnlyDictionary<string, object?> dict && key is YamlScalarNode k && dict.TryGetValue(k.Value ?? string.Empty, out var v) ? v : null;
                CheckReferences(childValue, child, names, index, allowSteps, errors);
            }

            return;
        }

        if (node is YamlSequenceNode list)
        {
            var items = value as IList<object?>;
            for (var i = 0; i < list.Children.Count; i++)
            {
                CheckReferences(items is not null && i < items.Count ? items[i] : null, list.Children[i], names, index, allowSteps, errors);
            }

            return;
        }

        if (value is not string text)
        {
            return;
        }

        try
        {
            foreach (var part in WorkflowTemplate.Parse(text))
            {
                if (part.Reference is not { } reference)
                {
                    continue;
                }

                if (!allowSteps && reference.Root is "steps" or "variables")
                {
                    errors.Add(Error(node, $"a variable may not use {reference} (variables may use task and project only)"));
                }
                else if (WorkflowTemplate.Check(reference, names, index) is { } problem)
                {
                    errors.Add(Error(node, problem));
                }
            }
        }
        catch (FormatException ex)
        {
            errors.Add(Error(node, ex.Message));
        }
    }

    private static void CheckKeys(YamlMappingNode node, IReadOnlyList<string> allowed, string what, List<WorkflowError> errors)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in node.Children.Keys)
        {
            if (key is not YamlScalarNode { Value: { } name })
            {
                errors.Add(Error(key, $"{what} keys must be plain names"));
                continue;
            }

            if (!allowed.Contains(name))
            {
                errors.Add(Error(key, $"unknown {what} key '{name}' (allowed: {string.Join(", ", allowed)})"));
            }
            else if (!seen.Add(name))
            {
                errors.Add(Error(key, $"duplicate {what} key '{name}'"));
            }
        }
    }

    private static string? RequiredScalar(YamlMappingNode node, string key, string what, List<WorkflowError> errors)
    {
        var child = Child(node, key);
        if (child is null || IsNull(child))
        {
            var name = what == "step" && Child(node, "name") is YamlScalarNode { Value: { Length: > 0 } n } ? $"step '{n}'" : what;
            errors.Add(Error(child ?? node, $"{name} is missing '{key}'"));
            return null;
        }

        if (child is not YamlScalarNode { Value: { Length: > 0 } value })
        {
            errors.Add(Error(child, $"'{key}' must be a non-empty string"));
            return null;
        }

        return value;
    }

    private static string? OptionalScalar(YamlMappingNode node, string key, List<WorkflowError> errors)
    {
        var child = Child(node, key);
        if (child is null || IsNull(child))
        {
            return null;
        }

        if (child is not YamlScalarNode scalar)
        {
            errors.Add(Error(child, $"'{key}' must be a single value"));
            return null;
        }

        return scalar.Value;
    }

    private static YamlNode? Child(YamlMappingNode node, string key) =>
        node.Children.FirstOrDefault(kv => kv.Key is YamlScalarNode { Value: { } k } && k == key).Value;

    private static bool IsNull(YamlNode node) => node is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" };

    /// <summary>A YAML value as plain data: typed plain scalars (bool, long, double, null), strings, maps and lists.</summary>
    internal static object? ToValue(YamlNode node) => node switch
    {
        YamlMappingNode map => ToMap(map),
        YamlSequenceNode list => list.Children.Select(ToValue).ToList(),
        YamlScalarNode { Style: ScalarStyle.Plain } scalar => PlainScalar(scalar.Value),
        YamlScalarNode scalar => scalar.Value ?? string.Empty,
        _ => null,
    };

    private static Dictionary<string, object?> ToMap(YamlMappingNode map)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, value) in map.Children)
        {
            result[(key as YamlScalarNode)?.Value ?? string.Empty] = ToValue(value);
        }

        return result;
    }

    private static object? PlainScalar(string? value) => value switch
    {
        null or "" or "~" or "null" or "Null" or "NULL" => null,
        "true" or "True" or "TRUE" => true,
        "false" or "False" or "FALSE" => false,
        _ when long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) => l,
        _ when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && !double.IsNaN(d) && !double.IsInfinity(d) => d,
        _ => value,
    };

    private static Mark LastGoodMark(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        var last = Mark.Empty;
        try
        {
            while (parser.MoveNext())
            {
                last = parser.Current?.End ?? last;
            }
        }
        catch (Exception ex) when (ex is YamlException or InvalidOperationException)
        {
            // Stop at the first event that cannot be read.
        }

        return last;
    }

    private static WorkflowError Error(YamlNode node, string message) => new(ToLine(node.Start), ToColumn(node.Start), message);

    private static int ToLine(Mark mark) => (int)Math.Max(1, mark.Line);

    private static int ToColumn(Mark mark) => (int)Math.Max(1, mark.Column);

    /// <summary>YamlDotNet prefixes messages with "(Line: …, Col: …, Idx: …) - (…): "; we print our own position.</summary>
    private static string StripMark(string message)
    {
        var index = message.IndexOf("): ", StringComparison.Ordinal);
        return index >= 0 && message.StartsWith("(Line:", StringComparison.Ordinal) ? message[(index + 3)..] : message;
    }
}
