using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.CircuitBreaker;
using Polly.RateLimiting;
using Polly.Timeout;

namespace DevOrchestrator.Abstractions.Plugins;

public static class PluginResilience
{
    /// <summary>
    /// Adds the plugin's resilience to an HTTP client: outcome counting (outermost), the total timeout, the rate limit
    /// (one token bucket per plugin), retries with jittered exponential backoff honouring <c>Retry-After</c>, the
    /// vendor's pause (a 429 with <c>Retry-After</c> pauses every call to the vendor), the circuit breaker (innermost
    /// but one: each attempt counts) and the per-attempt timeout. With a shared state (Redis) the rate, the pause and
    /// the circuit are the fleet's.
    /// <paramref name="requestsPerSecond"/> overrides <see cref="PluginResilienceOptions.RequestsPerSecond"/> when it
    /// returns a value.
    /// </summary>
    public static IHttpClientBuilder AddPluginResilience(this IHttpClientBuilder builder, string plugin, Func<IServiceProvider, double?>? requestsPerSecond = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(plugin);
        builder.Services.AddPluginResilienceState();

        // The pipeline's own timeouts rule; HttpClient's default 100 s would cut retries short and look like a cancellation.
        builder.ConfigureHttpClient(client => client.Timeout = Timeout.InfiniteTimeSpan);
        builder.AddHttpMessageHandler(sp => new PluginOutcomeHandler(plugin, sp.GetRequiredService<PluginResilienceState>().Telemetry));
        builder.AddResilienceHandler("plugin-" + plugin, (pipeline, context) =>
        {
            var state = context.ServiceProvider.GetRequiredService<PluginResilienceState>();
            var options = state.Options;
            pipeline.AddTimeout(options.TotalTimeout);
            if (options.RateLimitingEnabled)
            {
                var rate = requestsPerSecond?.Invoke(context.ServiceProvider) ?? options.RequestsPerSecond;
                pipeline.AddRateLimiter(state.Limiter(plugin, rate));
            }

            if (options.RetryAttempts > 0)
            {
                pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = options.RetryAttempts,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = options.RetryBaseDelay,
                    MaxDelay = TimeSpan.FromSeconds(60),
                    ShouldRetryAfterHeader = true,
                    // Transient failures only; a refused circuit is not retried (it fails fast).
                    ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is not BrokenCircuitException && IsFailure(args.Outcome)
                        && (IsRepeatable(args.Context.GetRequestMessage()) || ProvesNotProcessed(args.Outcome))),
                });
            }

            pipeline.AddStrategy(_ => new VendorPauseStrategy(plugin, state), new VendorPauseStrategyOptions());
            if (options.CircuitBreakerEnabled)
            {
                var breaker = state.Breaker(plugin);
                pipeline.AddStrategy(_ => new BreakerStrategy(breaker), new BreakerStrategyOptions());
            }

            pipeline.AddTimeout(options.AttemptTimeout);
        });
        return builder;
    }

    /// <summary>Registers the shared breakers and limiters (harmless to call twice).</summary>
    public static IServiceCollection AddPluginResilienceState(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (!services.Any(d => d.ServiceType == typeof(PluginResilienceState)))
        {
            services.AddSingleton(sp => new PluginResilienceState(
                sp.GetService<PluginResilienceOptions>() ?? new PluginResilienceOptions(),
                sp.GetService<TimeProvider>() ?? TimeProvider.System,
                sp.GetService<IPluginTelemetry>(),
                sp.GetService<ISharedResilienceState>()));
        }

        return services;
    }

    /// <summary>
    /// Marks a POST or PATCH that may be sent twice without creating a second object (a search, an edit that sets a
    /// value, a transition): it is retried after any transient failure, like a GET or PUT.
    /// </summary>
    public static readonly HttpRequestOptionsKey<bool> RepeatableWrite = new("devorch.plugin.repeatable-write");

    /// <summary>
    /// Whether <paramref name="request"/> may be sent again after an attempt whose outcome is unknown. A POST or PATCH
    /// creates something (a comment, a message, a pull request, a page): if the vendor processed the attempt that timed
    /// out or answered 500/502/504, sending it again makes a duplicate. Such requests are retried only when the failure
    /// proves nothing was processed (<see cref="ProvesNotProcessed"/>); otherwise the failure reaches the caller, whose
    /// external-effect record stays pending, and the next attempt looks at the vendor before writing.
    /// </summary>
    public static bool IsRepeatable(HttpRequestMessage? request) =>
        request is null
        || (request.Method != HttpMethod.Post && request.Method != HttpMethod.Patch)
        || (request.Options.TryGetValue(RepeatableWrite, out var repeatable) && repeatable);

    /// <summary>A failure that shows the vendor did not process the request: 429 or 503 (refused), or no connection was made.</summary>
    public static bool ProvesNotProcessed(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError } } => true,
        { Result: { } response } => response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable,
        _ => false,
    };

    /// <summary>An attempt that failed in a way worth retrying and counting against the circuit: 408, 429, 5xx, a network error or a timeout.</summary>
    public static bool IsFailure(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException or TimeoutRejectedException or TimeoutException } => true,
        { Exception: OperationCanceledException } => false,
        { Exception: not null } => false,
        { Result: { } response } => response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)response.StatusCode >= 500,
        _ => false,
    };

    private sealed class BreakerStrategyOptions : ResilienceStrategyOptions
    {
        public BreakerStrategyOptions() => Name = "plugin-circuit-breaker";
    }

    private sealed class BreakerStrategy(PluginCircuitBreaker breaker) : ResilienceStrategy<HttpResponseMessage>
    {
        protected override async ValueTask<Outcome<HttpResponseMessage>> ExecuteCore<TState>(
            Func<ResilienceContext, TState, ValueTask<Outcome<HttpResponseMessage>>> callback, ResilienceContext context, TState state)
        {
            var (allowed, retryAfter) = await breaker.TryEnterAsync(context.CancellationToken).ConfigureAwait(context.ContinueOnCapturedContext);
            if (!allowed)
            {
                return Outcome.FromException<HttpResponseMessage>(new BrokenCircuitException(
                    $"the circuit of plugin '{breaker.Plugin}' is open after repeated failures; next trial in {Math.Ceiling(retryAfter.TotalSeconds)}s"));
            }

            Outcome<HttpResponseMessage> outcome;
            try
            {
                outcome = await callback(context, state).ConfigureAwait(context.ContinueOnCapturedContext);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                await breaker.RecordAsync(success: false).ConfigureAwait(false);
                throw;
            }

            if (outcome.Exception is OperationCanceledException && context.CancellationToken.IsCancellationRequested)
            {
                // Our own cancellation says nothing about the vendor; release a trial slot without judging.
                await breaker.RecordAsync(success: true).ConfigureAwait(false);
                return outcome;
            }

            await breaker.RecordAsync(!IsFailure(outcome)).ConfigureAwait(context.ContinueOnCapturedContext);
            return outcome;
        }
    }

    private sealed class VendorPauseStrategyOptions : ResilienceStrategyOptions
    {
        public VendorPauseStrategyOptions() => Name = "plugin-vendor-pause";
    }

    /// <summary>
    /// Each attempt waits while the vendor is paused; a 429 with <c>Retry-After</c> pauses the vendor (for the whole
    /// fleet when the state is shared), so that no replica calls it before the time it asked for.
    /// </summary>
    private sealed class VendorPauseStrategy(string plugin, PluginResilienceState resilience) : ResilienceStrategy<HttpResponseMessage>
    {
        protected override async ValueTask<Outcome<HttpResponseMessage>> ExecuteCore<TState>(
            Func<ResilienceContext, TState, ValueTask<Outcome<HttpResponseMessage>>> callback, ResilienceContext context, TState state)
        {
            try
            {
                await resilience.WaitWhilePausedAsync(plugin, context.CancellationToken).ConfigureAwait(context.ContinueOnCapturedContext);
            }
            catch (OperationCanceledException ex)
            {
                return Outcome.FromException<HttpResponseMessage>(ex);
            }

            var outcome = await callback(context, state).ConfigureAwait(context.ContinueOnCapturedContext);
            if (outcome.Result is { StatusCode: HttpStatusCode.TooManyRequests } response && RetryAfterOf(response) is { } pause)
            {
                await resilience.PauseAsync(plugin, pause).ConfigureAwait(context.ContinueOnCapturedContext);
            }

            return outcome;
        }
    }

    /// <summary>The delay a response's <c>Retry-After</c> asks for (seconds or a date), if any.</summary>
    public static TimeSpan? RetryAfterOf(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - DateTimeOffset.UtcNow,
        _ => null,
    };

    /// <summary>Counts each call's final outcome (after retries) for <c>plugin_requests_total{plugin,outcome}</c>.</summary>
    private sealed class PluginOutcomeHandler(string plugin, IPluginTelemetry? telemetry) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            string outcome;
            try
            {
                var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
                var status = (int)response.StatusCode;
                outcome = status < 400 ? PluginOutcomes.Success
                    : status == 429 ? PluginOutcomes.RateLimited
                    : status >= 500 ? PluginOutcomes.ServerError
                    : PluginOutcomes.ClientError;
                telemetry?.RequestCompleted(plugin, outcome);
                return response;
            }
            catch (BrokenCircuitException)
            {
                telemetry?.RequestCompleted(plugin, PluginOutcomes.CircuitOpen);
                throw;
            }
            catch (TimeoutRejectedException)
            {
                telemetry?.RequestCompleted(plugin, PluginOutcomes.Timeout);
                throw;
            }
            catch (RateLimiterRejectedException)
            {
                telemetry?.RequestCompleted(plugin, PluginOutcomes.RateLimited);
                throw;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception)
            {
                telemetry?.RequestCompleted(plugin, PluginOutcomes.Error);
                throw;
            }
        }
    }
}
