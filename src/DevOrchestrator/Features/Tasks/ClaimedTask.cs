namespace DevOrchestrator.Features.Tasks;

/// <summary>A task this worker has just claimed, and the status it had (queued, or running under a dead worker).</summary>
public sealed record ClaimedTask(long Id, string PreviousStatus);
