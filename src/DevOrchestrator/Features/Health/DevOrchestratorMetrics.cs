using DevOrchestrator.Data;
using Prometheus;

namespace DevOrchestrator.Features.Health;

/// <summary>
/// The Prometheus metrics of the guide, in a registry of this host's own (so that several hosts in one test process
/// never mix their numbers). HTTP metrics are labelled by route template, never by raw path.
/// </summary>
public sealed class DevOrchestratorMetrics
{
    public DevOrchestratorMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        HttpRequests = factory.CreateCounter("http_requests_total", "HTTP requests by method, route template and status.", "method", "endpoint", "status");
        HttpDuration = factory.CreateHistogram("http_request_duration_seconds", "HTTP request duration by method and route template.",
            new HistogramConfiguration { LabelNames = ["method", "endpoint"], Buckets = Histogram.ExponentialBuckets(0.0005, 2, 16) });
        ActiveAgents = factory.CreateGauge("active_agents_count", "Agent executions running in this process (its own only: sum over replicas for the fleet).");
        TasksRunning = factory.CreateGauge("tasks_running", "Tasks this process is running (its own runs only: sum over replicas for the fleet).");
        TaskCompletion = factory.CreateHistogram("task_completion_seconds", "Time from a task's start to its end, by final status.",
            new HistogramConfiguration { LabelNames = ["status"], Buckets = Histogram.ExponentialBuckets(0.05, 2, 16) });
        TaskTransitions = factory.CreateCounter("tasks_total", "Tasks that entered each status.", "status");
        AiTokens = factory.CreateCounter("ai_tokens_used_total", "Model tokens used, by provider and model.", "provider", "model");
        AiCost = factory.CreateCounter("ai_cost_usd_total", "Model spend in US dollars, by provider and model.", "provider", "model");
        WorkflowSteps = factory.CreateCounter("workflow_steps_total", "Workflow steps finished, by plugin action and status.", "action", "status");
        PluginRequests = factory.CreateCounter("plugin_requests_total", "Plugin calls to vendors (after retries), by plugin and outcome.", "plugin", "outcome");
        CircuitBreakerState = factory.CreateGauge("circuit_breaker_state", "Circuit breaker state per plugin in this process: 0 closed, 1 open, 2 half-open.", "plugin");
        DispatchLatency = factory.CreateHistogram("task_dispatch_seconds", "Time from a task being queued to a worker starting it.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0005, 2, 18) });
        ModelErrors = factory.CreateCounter("ai_request_errors_total", "Model calls that failed after the SDK's retries (not budget refusals or cancellations), by provider.", "provider");
        WorkerUp = factory.CreateGauge("worker_up", "1 in a process that runs task workers (role all or worker), 0 in an API-only process.");
        TasksQueued = factory.CreateGauge("tasks_queued", "Tasks waiting for a worker (status queued), read from the shared database every few seconds: the same on every replica.");
        QueueDepth = factory.CreateGauge("queue_depth", "The same value as tasks_queued, under the issue's name (the JSON summary's queue_depth): the same on every replica.");
        OldestQueuedTaskAge = factory.CreateGauge("oldest_queued_task_age_seconds", "Age of the longest-waiting queued task (0 when none), read from the shared database: the same on every replica.");
        BudgetMonthlySpent = factory.CreateGauge("budget_monthly_spent_usd", "US dollars spent on models this calendar month (UTC), read from the shared database: the same on every replica.");
        BudgetMonthlyLimit = factory.CreateGauge("budget_monthly_limit_usd", "The monthly model budget in US dollars (MONTHLY_BUDGET_LIMIT).");

        // Label sets known at start export at zero, so that dashboards and alerts see a series before the first event.
        foreach (var status in TaskStatuses.All)
        {
            TaskTransitions.WithLabels(status);
        }

        foreach (var provider in new[] { Agents.ModelClients.Anthropic, Agents.ModelClients.OpenAI })
        {
            ModelErrors.WithLabels(provider);
        }
    }

    public CollectorRegistry Registry { get; }
    public Counter HttpRequests { get; }
    public Histogram HttpDuration { get; }
    public Gauge ActiveAgents { get; }
    public Gauge TasksRunning { get; }
    public Histogram TaskCompletion { get; }
    public Counter TaskTransitions { get; }
    public Counter AiTokens { get; }
    public Counter AiCost { get; }
    public Counter WorkflowSteps { get; }
    public Histogram DispatchLatency { get; }
    public Counter PluginRequests { get; }
    public Gauge CircuitBreakerState { get; }
    public Counter ModelErrors { get; }
    public Gauge WorkerUp { get; }
    public Gauge TasksQueued { get; }
    public Gauge QueueDepth { get; }
    public Gauge OldestQueuedTaskAge { get; }
    public Gauge BudgetMonthlySpent { get; }
    public Gauge BudgetMonthlyLimit { get; }
}
