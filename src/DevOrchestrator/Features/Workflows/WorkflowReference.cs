namespace DevOrchestrator.Features.Workflows;

/// <summary>A <c>${root.name…}</c> reference in a workflow value.</summary>
public sealed record WorkflowReference(string Root, IReadOnlyList<string> Path)
{
    public override string ToString() => "${" + Root + (Path.Count > 0 ? "." + string.Join('.', Path) : string.Empty) + "}";
}
