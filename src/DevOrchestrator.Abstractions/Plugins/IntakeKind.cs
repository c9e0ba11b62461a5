namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>What a verified webhook or slash command asks for.</summary>
public enum IntakeKind
{
    /// <summary>Nothing to do (an event or label we do not act on); <see cref="IntakeItem.IgnoredReason"/> says why.</summary>
    Ignored,

    /// <summary>Make a task of an external item (once per <see cref="IntakeItem.ExternalId"/>).</summary>
    NewTask,

    /// <summary>Feedback on a task's pull request: run the development agent again on the same branch.</summary>
    Feedback,
}
