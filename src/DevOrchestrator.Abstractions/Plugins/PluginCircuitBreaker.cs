namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>
/// A circuit breaker with the guide's semantics, which Polly's ratio breaker does not have: it opens after
/// <see cref="PluginResilienceOptions.CircuitBreakerThreshold"/> consecutive failed attempts, lets one trial call
/// through at a time after <see cref="PluginResilienceOptions.BreakDuration"/>, and closes after
/// <see cref="PluginResilienceOptions.SuccessesToClose"/> successful trials in a row (a failed trial opens it again).
/// One instance per plugin per process. With a <see cref="ISharedResilienceState"/> (Redis) the circuit is the fleet's:
/// <see cref="TryEnterAsync"/> and <see cref="RecordAsync"/> ask the shared state and adopt its answer; when the
/// shared state cannot answer they decide from this process's state, which carries on from the last shared answer.
/// </summary>
public sealed class PluginCircuitBreaker(string plugin, PluginResilienceOptions options, TimeProvider timeProvider, IPluginTelemetry? telemetry, ISharedResilienceState? shared = null)
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

    /// <summary>Whether a call may go out now (asking the fleet's circuit when shared); when not, how long until one may.</summary>
    public async ValueTask<(bool Allowed, TimeSpan RetryAfter)> TryEnterAsync(CancellationToken cancellationToken)
    {
        if (shared is not null)
        {
            try
            {
                var answer = await shared.EnterCircuitAsync(Plugin, options, cancellationToken).ConfigureAwait(false);
                Adopt(answer);
                return (answer.Allowed, answer.RetryAfter);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                // The shared state is unreachable: this process decides alone.
            }
        }

        var allowed = TryEnter(out var retryAfter);
        return (allowed, retryAfter);
    }

    /// <summary>Records an attempt's result in the fleet's circuit when shared (and adopts its state), else in this process's.</summary>
    public async ValueTask RecordAsync(bool success)
    {
        if (shared is not null)
        {
            try
            {
                // Not the caller's token: a result already seen is recorded even when the caller gives up.
                Adopt(await shared.RecordCircuitAsync(Plugin, success, options, CancellationToken.None).ConfigureAwait(false));
                return;
            }
            catch (Exception)
            {
                // The shared state is unreachable: this process counts alone.
            }
        }

        Record(success);
    }

    /// <summary>Whether a call may go out now by this process's state; when not, how long until the circuit lets one through.</summary>
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

    /// <summary>Takes the fleet's state as this process's (the metrics and /health show it; the fallback starts from it).</summary>
    private void Adopt(SharedCircuit answer)
    {
        PluginCircuitState? changed = null;
        lock (_lock)
        {
            if (answer.State != _state)
            {
                changed = answer.State;
            }

            _state = answer.State;
            _openUntil = answer.State == PluginCircuitState.Open ? timeProvider.GetUtcNow() + answer.OpenFor : default;
            _trialInFlight = false;
            if (answer.State == PluginCircuitState.Closed)
            {
                _successes = 0;
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
