namespace DevOrchestrator.Data;

/// <summary>A unit of development work. The row is the truth and the queue: workers claim queued rows (see <see cref="Features.Tasks.TaskDispatcher"/>).</summary>
public sealed class DevTask
{
    public long Id { get; set; }
    public long? ProjectId { get; set; }
    public required string Title { get; set; }
    public string? Description { get; set; }
    public string Status { get; set; } = TaskStatuses.Pending;
    public string Source { get; set; } = TaskSources.Api;
    public string? ExternalId { get; set; }
    public string Priority { get; set; } = TaskPriorities.Medium;
    public string Workflow { get; set; } = "standard_dev_workflow";
    public string AgentType { get; set; } = "development";
    public string? Variables { get; set; }
    public string? Result { get; set; }
    public string? Error { get; set; }
    public string? Branch { get; set; }
    public long? CreatedByUserId { get; set; }
    public string? IdempotencyKey { get; set; }

    /// <summary>SHA-256 of the creating request's body: the same key with another body is a conflict, not a repeat.</summary>
    public string? IdempotencyFingerprint { get; set; }

    /// <summary><c>task</c>, or <c>epic</c> for a planning agent's epic (its tasks have <see cref="ParentId"/>).</summary>
    public string Kind { get; set; } = TaskKinds.Task;
    public long? ParentId { get; set; }

    /// <summary>
    /// Where to answer the requester when the task ends, encrypted (a Slack slash command's <c>response_url</c>, which
    /// is itself a credential); null for other sources.
    /// </summary>
    public string? ReplyTo { get; set; }

    /// <summary>
    /// The W3C <c>traceparent</c> of the traced activity that created the task — the API request, the webhook, the
    /// planning step — so that its runs join that trace (<see cref="Hosting.Tracing"/>); null when tracing is off.
    /// </summary>
    public string? TraceParent { get; set; }

    /// <summary>What the task's model calls have cost, in micro-dollars.</summary>
    public long CostMicros { get; set; }

    /// <summary>Worst-case costs of its calls in flight, in micro-dollars.</summary>
    public long CostReservedMicros { get; set; }


    /// <summary>How many times a worker has claimed the task.</summary>
    public int Attempts { get; set; }
    public string? WorkerId { get; set; }
    public DateTimeOffset? LeaseExpiresAt { get; set; }
    public DateTimeOffset? CancelRequestedAt { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? QueuedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }
}
