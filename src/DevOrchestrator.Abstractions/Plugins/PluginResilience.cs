using System.Collections.Concurrent;
using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.CircuitBreaker;
using Polly.RateLimiting;
using Polly.Timeout;

namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>
/// The resilience every vendor plugin's HTTP calls go through (the host fills it from <c>PLUGIN_RETRY_ATTEMPTS</c>,
/// <c>CIRCUIT_BREAKER_*</c>, <c>RATE_LIMIT*</c>; a plugin may override the rate).
/// </summary>
public sealed class PluginResilienceOptions
{
    public int RetryAttempts { get; set; } = 3;

    /// <summary>The first retry's delay; later ones double, with jitter. A <c>Retry-After</c> header wins.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    public bool CircuitBreakerEnabled { get; set; } = true;

    /// <summary>Consecutive failed attempts that open the circuit.</summary>
    public int CircuitBreakerThreshold { get; set; } = 5;

    /// <summary>How long an open circuit refuses calls before letting a trial call through (half-open).</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Successful trial calls in a row that close a half-open circuit.</summary>
    public int SuccessesToClose { get; set; } = 2;

    public bool RateLimitingEnabled { get; set; } = true;

    public double RequestsPerSecond { get; set; } = 2.0;

    /// <summary>One attempt's limit.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The limit of one call with all its retries and waits.</summary>
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromMinutes(3);
}

public enum PluginCircuitState
{
    Closed = 0,
    Open = 1,
    HalfOpen = 2,
}

/// <summary>Where request outcomes and circuit changes are reported (the host counts them in Prometheus).</summary>
public interface IPluginTelemetry
{
    /// <summary>One call (after its retries) ended with <paramref name="outcome"/> (see <see cref="PluginOutcomes"/>).</summary>
    void RequestCompleted(string plugin, string outcome);

    void CircuitChanged(string plugin, PluginCircuitState state);
}

public static class PluginOutcomes
{
    public const string Success = "success";
    public const string ClientError = "client_error";
    public const string RateLimited = "rate_limited";
    public const string ServerError = "server_error";
    public const string Timeout = "timeout";
    public const string CircuitOpen = "circuit_open";
    public const string Error = "error";
}

/// <summary>
/// A circuit breaker with the guide's semantics, which Polly's ratio breaker does not have: it opens after
/// <see cref="PluginResilienceOptions.CircuitBreakerThreshold"/> consecutive failed attempts, lets one trial call
/// through at a time after <see cref="PluginResilienceOptions.BreakDuration"/>, and closes after
/// <see cref="PluginResilienceOptions.SuccessesToClose"/> successful trials in a row (a failed trial opens it again).
/// One instance per plugin per process.
/// </summary>
public sealed class PluginCircuitBreaker(string plugin, PluginResilienceOptions options, TimeProvider timeProvider, IPluginTelemetry? telemetry)
{
    private readonly Lock _lock = new();
    private PluginCircuitState _state;
    private int _failures;
    private int _successes;
    private bool _trialInFlight;
    private DateTimeOffset _openUntil;

    public string Plugin { get; } = plugin;

    public PluginCircuitState State
    {
        get
        {
            lock (_lock)
            {
                return _state == PluginCircuitState.Open && timeProvider.GetUtcNow() >= _openUntil ? PluginCircuitState.HalfOpen : _state;
            }
        }
    }

    /// <summary>When an open circuit lets the next trial through (null unless open).</summary>
    public DateTimeOffset? OpenUntil
    {
        get
        {
            lock (_lock)
            {
                return _state == PluginCircuitState.Open ? _openUntil : null;
            }
        }
    }

    /// <summary>Whether a call may go out now; when not, how long until the circuit lets one through.</summary>
    public bool TryEnter(out TimeSpan retryAfter)
    {
        PluginCircuitState? changed = null;
        lock (_lock)
        {
            retryAfter = TimeSpan.Zero;
            var now = timeProvider.GetUtcNow();
            if (_state == PluginCircuitState.Open)
            {
                if (now < _openUntil)
                {
                    retryAfter = _openUntil - now;
                    return false;
                }

                _state = PluginCircuitState.HalfOpen;
                _successes = 0;
                _trialInFlight = false;
                changed = _state;
            }

            if (_state == PluginCircuitState.HalfOpen)
            {
                if (_trialInFlight)
                {
                    retryAfter = TimeSpan.FromSeconds(1);
                    Report(changed);
                    return false;
                }

                _trialInFlight = true;
            }
        }

        Report(changed);
        return true;
    }

    /// <summary>Records an attempt's result.</summary>
    public void Record(bool success)
    {
        PluginCircuitState? changed = null;
        lock (_lock)
        {
            switch (_state)
            {
                case PluginCircuitState.Closed:
                    _failures = success ? 0 : _failures + 1;
                    if (_failures >= options.CircuitBreakerThreshold)
                    {
                        changed = Open();
                    }

                    break;
                case PluginCircuitState.HalfOpen:
                    _trialInFlight = false;
                    if (!success)
                    {
                        changed = Open();
                    }
                    else if (++_successes >= options.SuccessesToClose)
                    {
                        _state = PluginCircuitState.Closed;
                        _failures = 0;
                        changed = _state;
                    }

                    break;
                case PluginCircuitState.Open:
                    // An attempt that started before the circuit opened; it changes nothing.
                    break;
            }
        }

        Report(changed);
    }

    private PluginCircuitState Open()
    {
        _state = PluginCircuitState.Open;
        _openUntil = timeProvider.GetUtcNow() + options.BreakDuration;
        _failures = 0;
        _successes = 0;
        _trialInFlight = false;
        return _state;
    }

    private void Report(PluginCircuitState? changed)
    {
        if (changed is { } state)
        {
            telemetry?.CircuitChanged(Plugin, state);
        }
    }
}

/// <summary>The per-plugin circuit breakers and rate limiters of this process (shared by all of a plugin's clients).</summary>
public sealed class PluginResilienceState(PluginResilienceOptions options, TimeProvider timeProvider, IPluginTelemetry? telemetry = null)
{
    private readonly ConcurrentDictionary<string, PluginCircuitBreaker> _breakers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RateLimiter> _limiters = new(StringComparer.Ordinal);

    public PluginResilienceOptions Options { get; } = options;

    public IPluginTelemetry? Telemetry { get; } = telemetry;

    public PluginCircuitBreaker Breaker(string plugin) =>
        _breakers.GetOrAdd(plugin, name => new PluginCircuitBreaker(name, Options, timeProvider, Telemetry));

    /// <summary>The breakers made so far (a plugin that never called out has none).</summary>
    public IReadOnlyCollection<PluginCircuitBreaker> Breakers => _breakers.Values.ToArray();

    /// <summary>A token bucket of <paramref name="requestsPerSecond"/> (callers wait in line rather than fail).</summary>
    public RateLimiter Limiter(string plugin, double requestsPerSecond) => _limiters.GetOrAdd(plugin, _ =>
    {
        var perSecond = Math.Max(requestsPerSecond, 0.01);
        var period = perSecond >= 1 ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(1 / perSecond);
        var tokensPerPeriod = perSecond >= 1 ? (int)Math.Ceiling(perSecond) : 1;
        return new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = tokensPerPeriod,
            TokensPerPeriod = tokensPerPeriod,
            ReplenishmentPeriod = period,
            QueueLimit = 100_000,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
    });
}

public static class PluginResilience
{
    /// <summary>
    /// Adds the plugin's resilience to an HTTP client: outcome counting (outermost), the total timeout, the rate limit
    /// (one token bucket per plugin), retries with jittered exponential backoff honouring <c>Retry-After</c>, the
    /// circuit breaker (innermost but one: each attempt counts) and the per-attempt timeout.
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
                sp.GetService<IPluginTelemetry>()));
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
            if (!breaker.TryEnter(out var retryAfter))
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
                breaker.Record(success: false);
                throw;
            }

            if (outcome.Exception is OperationCanceledException && context.CancellationToken.IsCancellationRequested)
            {
                // Our own cancellation says nothing about the vendor; release a trial slot without judging.
                breaker.Record(success: true);
                return outcome;
            }

            breaker.Record(!IsFailure(outcome));
            return outcome;
        }
    }

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
