namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>
/// The resilience state every replica of the service shares: circuits, rate budgets and vendor pauses. The circuit
/// breakers and rate limiters consult it before their in-process state, so that a circuit opened on one replica is open
/// on all, a rate is a budget of the fleet and a vendor's <c>Retry-After</c> pauses every replica. The host registers
/// one (on Redis) when <c>REDIS_URL</c> is set; without one each process keeps its own state (the embedded default).
/// Every call may fail quickly (the store is unreachable, or slower than its short time-out): the caller then decides
/// from its in-process state, and nothing waits on the store.
/// </summary>
public interface ISharedResilienceState
{
    /// <summary>
    /// Asks to make a call through <paramref name="circuit"/>: refused while the circuit is open; when its break is
    /// over the first replica to ask gets the half-open trial (a lease), the others are refused until the trial ends.
    /// </summary>
    Task<SharedCircuit> EnterCircuitAsync(string circuit, PluginResilienceOptions rules, CancellationToken cancellationToken);

    /// <summary>Records an attempt's result: consecutive failures of the fleet open the circuit, successful trials close it.</summary>
    Task<SharedCircuit> RecordCircuitAsync(string circuit, bool success, PluginResilienceOptions rules, CancellationToken cancellationToken);

    /// <summary>
    /// Reserves the next slot of the budget <paramref name="budget"/> (<paramref name="perSecond"/> with bursts of
    /// <paramref name="burst"/>) and returns how long the caller waits for it; a pause of the budget's vendor pushes
    /// the slot past its end.
    /// </summary>
    Task<TimeSpan> ReserveAsync(string budget, double perSecond, int burst, CancellationToken cancellationToken);

    /// <summary>How long calls to <paramref name="vendor"/> wait for a pause to end (zero when not paused).</summary>
    Task<TimeSpan> PausedForAsync(string vendor, CancellationToken cancellationToken);

    /// <summary>
    /// How long a caller waits before spending from the budget <paramref name="budget"/> of <paramref name="perMinute"/>
    /// units a minute (tokens of a model provider): zero unless the fleet spent more than a minute's worth ahead.
    /// </summary>
    Task<TimeSpan> SpendableInAsync(string budget, double perMinute, CancellationToken cancellationToken);

    /// <summary>Charges <paramref name="units"/> spent to the budget (known only after the call).</summary>
    Task ChargeAsync(string budget, long units, double perMinute, CancellationToken cancellationToken);

    /// <summary>Pauses <paramref name="vendor"/> for every replica for <paramref name="duration"/> (a longer pause already set stays).</summary>
    Task PauseAsync(string vendor, TimeSpan duration, CancellationToken cancellationToken);
}
