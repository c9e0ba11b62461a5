namespace DevOrchestrator.Features.Webhooks;

public sealed record IntakeResult(IntakeOutcome Outcome, string Message, long? TaskId = null, long? ProjectId = null);
