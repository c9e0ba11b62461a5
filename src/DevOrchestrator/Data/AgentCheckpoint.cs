namespace DevOrchestrator.Data;

/// <summary>
/// The last finished turn of an agent conversation in a workflow step: the messages so far and the worktree's diff
/// against its base. A resumed task restores both and continues after this turn, so no finished turn runs (or is
/// paid for) twice. One row per (workflow execution, conversation), overwritten every turn.
/// </summary>
public sealed class AgentCheckpoint
{
    public long Id { get; set; }
    public long TaskId { get; set; }
    public long WorkflowExecutionId { get; set; }

    /// <summary>The conversation's key: the step name, or a name given by the step (<c>conversation:</c>).</summary>
    public required string Conversation { get; set; }
    public int Turn { get; set; }

    /// <summary>The conversation as Microsoft.Extensions.AI <c>ChatMessage</c> JSON.</summary>
    public required string Messages { get; set; }

    /// <summary>Small state of the loop (finished, summary, verify attempts) as JSON.</summary>
    public string? State { get; set; }

    /// <summary><c>git diff --binary</c> of the worktree (tracked and new files) against the commit it started from.</summary>
    public string? Diff { get; set; }
    public string? BaseCommit { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}
