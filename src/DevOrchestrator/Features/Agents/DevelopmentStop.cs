namespace DevOrchestrator.Features.Agents;

/// <summary>Why the development agent stopped.</summary>
public enum DevelopmentStop
{
    /// <summary>The model called <c>finish</c> or answered without a tool call.</summary>
    Finished,

    /// <summary><see cref="DevelopmentRequest.MaxTurns"/> turns in this run without finishing.</summary>
    MaxTurns,

    /// <summary>The same action repeated without changing anything.</summary>
    NoProgress,
}
