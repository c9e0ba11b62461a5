using System.Diagnostics;
using DevOrchestrator.Features.Agents;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace DevOrchestrator.Hosting;

/// <summary>
/// Distributed tracing with OpenTelemetry: one trace per task run, from the request that queued the task (its W3C
/// <c>traceparent</c> is stored with the task, <see cref="Data.DevTask.TraceParent"/>) through the run, each
/// workflow step, each model call (<see cref="ModelClients.TelemetrySource"/>: model, tokens, cost) and each vendor HTTP
/// call. Exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set — the standard <c>OTEL_*</c> variables, read
/// from the configuration like every setting — and HTTP/protobuf unless <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> says
/// <c>grpc</c>. Without an endpoint nothing listens to the sources, so no span is even created.
/// </summary>
public static class Tracing
{
    public const string SourceName = "DevOrchestrator";
    public const string DefaultServiceName = "devorch";

    /// <summary>The spans of task runs and workflow steps.</summary>
    public static readonly ActivitySource Source = new(SourceName);

    public static WebApplicationBuilder AddTracing(this WebApplicationBuilder builder, ServiceRole role)
    {
        var configuration = builder.Configuration;
        var endpoint = configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        if (string.IsNullOrWhiteSpace(endpoint) || string.Equals(configuration["OTEL_SDK_DISABLED"], "true", StringComparison.OrdinalIgnoreCase))
        {
            return builder;
        }

        if (!Uri.TryCreate(endpoint.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new SettingsException([$"OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL such as http://otel-collector:4318 (got '{endpoint}')."]);
        }

        var protocol = configuration["OTEL_EXPORTER_OTLP_PROTOCOL"];
        if (protocol is { Length: > 0 } && protocol is not ("http/protobuf" or "grpc"))
        {
            throw new SettingsException([$"OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf (the default) or grpc (got '{protocol}')."]);
        }

        var serviceName = configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : DefaultServiceName;
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource
                .AddService(serviceName)
                .AddAttributes([new("devorch.role", role.ToString().ToLowerInvariant())]))
            .WithTracing(tracing => tracing
                .AddSource(SourceName, ModelClients.TelemetrySource)
                // Probes and scrapes would be most of the spans and say nothing about a task.
                .AddAspNetCoreInstrumentation(o => o.Filter = context =>
                    !context.Request.Path.StartsWithSegments("/health") && !context.Request.Path.StartsWithSegments("/metrics"))
                .AddHttpClientInstrumentation()
                // The .NET exporter defaults to gRPC; the OpenTelemetry specification's default is HTTP/protobuf. The
                // endpoint comes from OTEL_EXPORTER_OTLP_ENDPOINT, to which the exporter appends /v1/traces.
                .AddOtlpExporter(o =>
                {
                    if (protocol is not { Length: > 0 })
                    {
                        o.Protocol = OtlpExportProtocol.HttpProtobuf;
                    }
                }));

        // A Slack slash command's response_url is itself a credential: its calls make no span (whose url.full would name it).
        builder.Services.AddHttpClient(Plugins.Slack.SlackPlugin.ResponseUrlHttpClientName).AddHttpMessageHandler(() => new UntracedRequests());
        return builder;
    }

    /// <summary>Sends its requests with OpenTelemetry's instrumentation suppressed: no span, nothing exported.</summary>
    private sealed class UntracedRequests : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            using var suppressed = SuppressInstrumentationScope.Begin();
            return await base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>
    /// The W3C <c>traceparent</c> of the current activity when it is recorded (tracing is on and sampled it), else null:
    /// what a task keeps so that its run, on whatever worker, joins the trace of the request that created it.
    /// </summary>
    public static string? CurrentTraceParent() => Activity.Current is { IdFormat: ActivityIdFormat.W3C, Recorded: true } activity ? activity.Id : null;

    /// <summary>
    /// Starts the span of one run of a task: a child of the span that created the task (<paramref name="traceParent"/>),
    /// else the root of a new trace — never a child of whatever happens to be current on the worker's thread.
    /// </summary>
    public static Activity? StartTaskRun(string? traceParent, long taskId, long agentId, string workflow, int attempt)
    {
        Activity.Current = null;
        ActivityContext.TryParse(traceParent, null, isRemote: true, out var parent);
        var activity = Source.StartActivity("task.run", ActivityKind.Consumer, parent);
        activity?.SetTag("devorch.task_id", taskId);
        activity?.SetTag("devorch.agent_id", agentId);
        activity?.SetTag("devorch.workflow", workflow);
        activity?.SetTag("devorch.attempt", attempt);
        return activity;
    }

    /// <summary>Starts the span of one workflow step, named after the step.</summary>
    public static Activity? StartWorkflowStep(string name, string type, int index, string? plugin, string? action)
    {
        var activity = Source.StartActivity(name);
        if (activity is not null)
        {
            activity.SetTag("devorch.step.name", name);
            activity.SetTag("devorch.step.type", type);
            activity.SetTag("devorch.step.index", index);
            if (plugin is not null)
            {
                activity.SetTag("devorch.step.plugin", plugin);
                activity.SetTag("devorch.step.action", action);
            }
        }

        return activity;
    }

    /// <summary>Records how a task run or step ended on its span: its status, and the error when it failed.</summary>
    public static void RecordOutcome(Activity? activity, string status, string? error)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag("devorch.status", status);
        if (error is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, error);
        }
    }

    /// <summary>Puts a model call's cost on its span (the M.E.AI OpenTelemetry chat client's, current while the call runs).</summary>
    public static void RecordModelCost(decimal usd)
    {
        if (Activity.Current is { Source.Name: ModelClients.TelemetrySource } call)
        {
            call.SetTag("devorch.cost_usd", (double)usd);
        }
    }
}
