using System.Net;
using System.Runtime.CompilerServices;
using System.Threading.RateLimiting;
using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Hosting;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;

namespace DevOrchestrator.Features.Agents;

/// <summary>
/// The per-provider resilience pipelines (retry, circuit breaker, rate limit, timeout), built on first use. With the
/// fleet's shared state (Redis, when <c>REDIS_URL</c> is set) the provider's circuit and its request rate are the
/// fleet's, and a 429 with <c>retry-after</c> pauses the provider for every replica (decision 0045); the concurrency
/// limit stays per process.
/// </summary>
public sealed class ModelResilience(IOptions<ModelOptions> modelOptions, IOptions<ResilienceOptions> resilienceOptions, TimeProvider timeProvider, PluginResilienceState? plugins = null)
{
    internal static readonly ResiliencePropertyKey<StrongBox<TimeSpan?>> RetryAfterKey = new("devorch.retry_after");

    private readonly Dictionary<string, ResiliencePipeline> _pipelines = [];
    private readonly Lock _gate = new();

    public ResiliencePipeline For(string provider)
    {
        lock (_gate)
        {
            if (!_pipelines.TryGetValue(provider, out var pipeline))
            {
                pipeline = Build(provider);
                _pipelines[provider] = pipeline;
            }

            return pipeline;
        }
    }

    /// <summary>The name of a provider's circuit, rate budget and pause in the shared state.</summary>
    public static string SharedName(string provider) => "model-" + provider;

    private ResiliencePipeline Build(string provider)
    {
        var shared = plugins?.Shared;
        var builder = new ResiliencePipelineBuilder { TimeProvider = timeProvider };
        if (modelOptions.Value.ModelRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = modelOptions.Value.ModelRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromSeconds(1),
                MaxDelay = TimeSpan.FromSeconds(60),
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex && IsTransient(ex, args.Context.CancellationToken)),
                DelayGenerator = args =>
                {
                    // Honour retry-after: never come back earlier than the provider asked.
                    var asked = args.Context.Properties.TryGetValue(RetryAfterKey, out var box) ? box.Value : null;
                    return ValueTask.FromResult(asked);
                },
            });
        }

        if (modelOptions.Value.ModelTokensPerMinute > 0)
        {
            builder.AddStrategy(_ => new TokenBudgetStrategy(SharedName(provider), modelOptions.Value.ModelTokensPerMinute, shared, timeProvider), new TokenBudgetStrategyOptions());
        }

        if (shared is not null)
        {
            builder.AddStrategy(_ => new SharedProviderStrategy(SharedName(provider), plugins!, resilienceOptions.Value.CircuitBreakerEnabled ? new PluginCircuitBreaker(SharedName(provider), new PluginResilienceOptions
            {
                CircuitBreakerThreshold = Math.Max(2, resilienceOptions.Value.CircuitBreakerThreshold),
                BreakDuration = TimeSpan.FromSeconds(60),
                SuccessesToClose = 1,
                AttemptTimeout = TimeSpan.FromSeconds(modelOptions.Value.ModelTimeoutSeconds),
            }, timeProvider, telemetry: null, shared) : null), new SharedProviderStrategyOptions());
        }
        else if (resilienceOptions.Value.CircuitBreakerEnabled)
        {
            builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = 1.0,
                MinimumThroughput = Math.Max(2, resilienceOptions.Value.CircuitBreakerThreshold),
                SamplingDuration = TimeSpan.FromSeconds(60),
                BreakDuration = TimeSpan.FromSeconds(60),
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex && IsTransient(ex, args.Context.CancellationToken)),
            });
        }

        var concurrency = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = modelOptions.Value.ModelMaxConcurrentRequests,
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
        var perSecond = Math.Max(1, (int)Math.Ceiling(modelOptions.Value.ModelRequestsPerSecond));
        var rate = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = perSecond,
            TokensPerPeriod = perSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(perSecond / modelOptions.Value.ModelRequestsPerSecond),
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
        builder.AddRateLimiter(shared is null ? rate : new SharedRateLimiter(SharedName(provider), modelOptions.Value.ModelRequestsPerSecond, perSecond, rate, shared, timeProvider));
        builder.AddRateLimiter(concurrency);
        return builder.Build();
    }

    private sealed class SharedProviderStrategyOptions : ResilienceStrategyOptions
    {
        public SharedProviderStrategyOptions() => Name = "model-shared-circuit";
    }

    /// <summary>
    /// Each attempt waits while the provider is paused, goes through the fleet's circuit (the guide's consecutive
    /// failures, like the plugins'), and a 429 with <c>retry-after</c> pauses the provider for every replica.
    /// </summary>
    private sealed class SharedProviderStrategy(string name, PluginResilienceState plugins, PluginCircuitBreaker? breaker) : ResilienceStrategy
    {
        protected override async ValueTask<Outcome<TResult>> ExecuteCore<TResult, TState>(
            Func<ResilienceContext, TState, ValueTask<Outcome<TResult>>> callback, ResilienceContext context, TState state)
        {
            try
            {
                await plugins.WaitWhilePausedAsync(name, context.CancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException ex)
            {
                return Outcome.FromException<TResult>(ex);
            }

            if (breaker is not null)
            {
                var (allowed, retryAfter) = await breaker.TryEnterAsync(context.CancellationToken).ConfigureAwait(false);
                if (!allowed)
                {
                    return Outcome.FromException<TResult>(new BrokenCircuitException(
                        $"the circuit of the model provider is open after repeated failures; next trial in {Math.Ceiling(retryAfter.TotalSeconds)}s"));
                }
            }

            var outcome = await callback(context, state).ConfigureAwait(false);
            var failed = outcome.Exception is { } exception && IsTransient(exception, context.CancellationToken);
            if (breaker is not null)
            {
                // Our own cancellation says nothing about the provider.
                await breaker.RecordAsync(!failed).ConfigureAwait(false);
            }

            if (outcome.Exception is { } error && StatusOf(error) == 429
                && context.Properties.TryGetValue(RetryAfterKey, out var box) && box.Value is { } pause)
            {
                await plugins.PauseAsync(name, pause).ConfigureAwait(false);
            }

            return outcome;
        }
    }

    private sealed class TokenBudgetStrategyOptions : ResilienceStrategyOptions
    {
        public TokenBudgetStrategyOptions() => Name = "model-tokens-per-minute";
    }

    /// <summary>
    /// <c>MODEL_TOKENS_PER_MINUTE</c>: a budget of tokens a minute per provider, charged with each response's usage (known
    /// only after the call); a call waits while the calls before it spent more than a minute's worth ahead (GCRA with a
    /// minute's tolerance). The fleet's budget with Redis; this process's own when there is none or it cannot answer.
    /// </summary>
    private sealed class TokenBudgetStrategy(string name, double perMinute, ISharedResilienceState? shared, TimeProvider timeProvider) : ResilienceStrategy
    {
        private readonly Lock _gate = new();
        private DateTimeOffset _theoreticalArrival;

        protected override async ValueTask<Outcome<TResult>> ExecuteCore<TResult, TState>(
            Func<ResilienceContext, TState, ValueTask<Outcome<TResult>>> callback, ResilienceContext context, TState state)
        {
            try
            {
                var wait = await WaitAsync(context.CancellationToken).ConfigureAwait(false);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, timeProvider, context.CancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException ex)
            {
                return Outcome.FromException<TResult>(ex);
            }

            var outcome = await callback(context, state).ConfigureAwait(false);
            if (outcome.Result is Microsoft.Extensions.AI.ChatResponse { Usage: { } usage }
                && (usage.TotalTokenCount ?? (usage.InputTokenCount ?? 0) + (usage.OutputTokenCount ?? 0)) is > 0 and var tokens)
            {
                await ChargeAsync(tokens).ConfigureAwait(false);
            }

            return outcome;
        }

        private async ValueTask<TimeSpan> WaitAsync(CancellationToken cancellationToken)
        {
            if (shared is not null)
            {
                try
                {
                    return await shared.SpendableInAsync(name, perMinute, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception) when (!cancellationToken.IsCancellationRequested)
                {
                    // Redis unreachable: this process's budget.
                }
            }

            lock (_gate)
            {
                var wait = _theoreticalArrival - timeProvider.GetUtcNow() - TimeSpan.FromMinutes(1);
                return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
            }
        }

        private async ValueTask ChargeAsync(long tokens)
        {
            lock (_gate)
            {
                var now = timeProvider.GetUtcNow();
                _theoreticalArrival = (_theoreticalArrival > now ? _theoreticalArrival : now) + TimeSpan.FromMinutes(tokens / perMinute);
            }

            if (shared is not null)
            {
                try
                {
                    await shared.ChargeAsync(name, tokens, perMinute, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Redis unreachable: charged to this process's budget only.
                }
            }
        }
    }

    /// <summary>Worth another attempt: rate limited, overloaded, a server error, a timeout or a broken connection.</summary>
    public static bool IsTransient(Exception exception, CancellationToken callerToken)
    {
        if (callerToken.IsCancellationRequested)
        {
            return false;
        }

        var status = StatusOf(exception);
        if (status is { } code)
        {
            return code is 408 or 429 or 529 or >= 500;
        }

        return exception is HttpRequestException or TimeoutException or OperationCanceledException or IOException
            || exception.InnerException is HttpRequestException or TimeoutException or IOException;
    }

    /// <summary>
    /// Whether an exception came from a model call (SDK, transport or this pipeline), as opposed to our own code. A
    /// <see cref="System.Text.Json.JsonException"/> is the SDK failing to read the provider's response (an empty body, an
    /// HTML error page from a proxy, a body cut short): nothing of ours parses JSON on that path.
    /// </summary>
    public static bool IsModelFailure(Exception exception) =>
        exception is Anthropic.Exceptions.AnthropicException or System.ClientModel.ClientResultException or HttpRequestException
            // A response cut short while its body is read surfaces as an IOException — HttpIOException, or the socket's
            // "connection reset" — not as an HttpRequestException.
            or HttpIOException or IOException { InnerException: System.Net.Sockets.SocketException }
            or BrokenCircuitException or Polly.RateLimiting.RateLimiterRejectedException or TimeoutException or System.Text.Json.JsonException;

    /// <summary>A message a user can act on, without a stack trace.</summary>
    public static string Describe(Exception exception)
    {
        var innermost = exception;
        while (innermost.InnerException is { } inner)
        {
            innermost = inner;
        }

        return exception switch
        {
            Anthropic.Exceptions.AnthropicApiException api => $"HTTP {(int)api.StatusCode}: {api.ApiMessage ?? api.Message}",
            System.ClientModel.ClientResultException client when client.Status > 0 => $"HTTP {client.Status}: {client.Message}",
            BrokenCircuitException => "the provider's circuit breaker is open after repeated failures; calls resume after 60 s",
            Polly.RateLimiting.RateLimiterRejectedException => "the client-side rate limit rejected the call (MODEL_REQUESTS_PER_SECOND, MODEL_MAX_CONCURRENT_REQUESTS)",
            _ when innermost is TimeoutException => "the call timed out (MODEL_TIMEOUT_SECONDS)",
            System.Text.Json.JsonException => $"the provider's response is not the JSON it documents: {innermost.Message}",
            _ => $"the provider could not be reached: {innermost.Message}",
        };
    }

    /// <summary>The HTTP status behind an SDK exception, if it has one.</summary>
    public static int? StatusOf(Exception exception) => exception switch
    {
        Anthropic.Exceptions.AnthropicApiException api => (int)api.StatusCode,
        System.ClientModel.ClientResultException client when client.Status > 0 => client.Status,
        HttpRequestException { StatusCode: HttpStatusCode code } => (int)code,
        _ => null,
    };
}
