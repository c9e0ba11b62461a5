namespace DevOrchestrator.Data;

/// <summary>
/// A webhook delivery we accepted, by the vendor's delivery id (<c>X-GitHub-Delivery</c>,
/// <c>X-Atlassian-Webhook-Identifier</c>, Slack's trigger id): a repeated delivery finds its row and is acknowledged
/// without acting again.
/// </summary>
public sealed class WebhookDelivery
{
    public long Id { get; set; }
    public required string Source { get; set; }
    public required string DeliveryId { get; set; }
    public string? Event { get; set; }

    /// <summary>What we did: <c>task_created</c>, <c>task_exists</c>, <c>feedback</c>, <c>ignored</c>.</summary>
    public required string Outcome { get; set; }
    public long? TaskId { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }
}
