namespace DevOrchestrator.Abstractions;

/// <summary>The type of a workflow input that is not text.</summary>
public enum WorkflowInputType
{
    /// <summary><c>true</c> or <c>false</c>.</summary>
    Boolean,

    /// <summary>A whole number, 0 or more.</summary>
    WholeNumber,

    /// <summary>A whole number, 1 or more.</summary>
    PositiveNumber,
}
