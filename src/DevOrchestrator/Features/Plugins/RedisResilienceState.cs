using System.Globalization;
using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Hosting;
using StackExchange.Redis;

namespace DevOrchestrator.Features.Plugins;

/// <summary>
/// The fleet's circuits, rate budgets and vendor pauses in Redis (registered when <c>REDIS_URL</c> is set), keys under
/// <c>{REDIS_KEY_PREFIX}resilience:</c>. Each operation is one Lua script, atomic on the server and timed by the
/// server's clock (<c>TIME</c>), so replicas with skewed clocks agree. Every call has a short time-out; after a failure
/// the store answers "unreachable" at once for a few seconds (callers use their in-process state meanwhile), so a
/// Redis that is down costs no waiting (decision 0045).
/// </summary>
public sealed partial class RedisResilienceState(RedisConnection connection, TimeProvider timeProvider, ILogger<RedisResilienceState> logger)
    : ISharedResilienceState
{
    /// <summary>The longest a call waits for Redis before deciding locally.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromMilliseconds(500);

    /// <summary>After a failure, how long Redis is not asked (calls decide locally at once).</summary>
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(2);

    private const string Now = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
        """ + "\n";

    // KEYS: circuit hash, trial lease. ARGV: trial lease ms. Returns {state, allowed, retry-after ms, open-for ms}.
    private const string EnterScript = Now + """
        local state = tonumber(redis.call('HGET', KEYS[1], 'state') or '0')
        if state == 1 then
          local untilMs = tonumber(redis.call('HGET', KEYS[1], 'open_until') or '0')
          if now < untilMs then
            return {1, 0, math.ceil(untilMs - now), math.ceil(untilMs - now)}
          end
          state = 2
          redis.call('HSET', KEYS[1], 'state', 2, 'successes', 0)
          redis.call('DEL', KEYS[2])
        end
        if state == 2 then
          if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then
            return {2, 1, 0, 0}
          end
          return {2, 0, 1000, 0}
        end
        return {0, 1, 0, 0}
        """;

    // KEYS: circuit hash, trial lease. ARGV: success (1|0), threshold, break ms, successes to close, key ttl ms.
    private const string RecordScript = Now + """
        local state = tonumber(redis.call('HGET', KEYS[1], 'state') or '0')
        local breakMs = tonumber(ARGV[3])
        local result
        local function open()
          redis.call('HSET', KEYS[1], 'state', 1, 'open_until', tostring(now + breakMs), 'failures', 0, 'successes', 0)
          redis.call('DEL', KEYS[2])
          return {1, 0, breakMs, breakMs}
        end
        if state == 1 then
          -- An attempt that started before the circuit opened: it changes nothing.
          local left = math.ceil(tonumber(redis.call('HGET', KEYS[1], 'open_until') or '0') - now)
          if left < 0 then left = 0 end
          result = {1, 0, left, left}
        elseif state == 0 then
          if ARGV[1] == '1' then
            redis.call('HSET', KEYS[1], 'state', 0, 'failures', 0)
            result = {0, 1, 0, 0}
          elseif redis.call('HINCRBY', KEYS[1], 'failures', 1) >= tonumber(ARGV[2]) then
            result = open()
          else
            result = {0, 1, 0, 0}
          end
        else
          redis.call('DEL', KEYS[2])
          if ARGV[1] ~= '1' then
            result = open()
          elseif redis.call('HINCRBY', KEYS[1], 'successes', 1) >= tonumber(ARGV[4]) then
            redis.call('HSET', KEYS[1], 'state', 0, 'failures', 0, 'successes', 0)
            result = {0, 1, 0, 0}
          else
            result = {2, 1, 0, 0}
          end
        end
        redis.call('PEXPIRE', KEYS[1], ARGV[5])
        return result
        """;

    // GCRA with reservations. KEYS: theoretical arrival time, the vendor's pause. ARGV: emission interval ms, burst
    // tolerance ms. Reserves the caller's slot and returns how many ms it waits for it (a pause pushes the slot past its end).
    private const string ReserveScript = Now + """
        local interval = tonumber(ARGV[1])
        local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
        local pausedUntil = tonumber(redis.call('GET', KEYS[2]) or '0')
        if tat < now then tat = now end
        if tat < pausedUntil then tat = pausedUntil end
        local start = tat - tonumber(ARGV[2])
        if start < now then start = now end
        if start < pausedUntil then start = pausedUntil end
        local nextTat = tat + interval
        redis.call('SET', KEYS[1], string.format('%.3f', nextTat), 'PX', math.ceil(nextTat - now) + 1000)
        return string.format('%.3f', start - now)
        """;

    // A budget of units a minute (GCRA, the cost known after the call). KEYS: theoretical arrival time. ARGV: ms of
    // one minute's tolerance. Returns the ms until the fleet is no more than a minute's worth ahead.
    private const string SpendableScript = Now + """
        local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
        local wait = tat - tonumber(ARGV[1]) - now
        if wait < 0 then wait = 0 end
        return string.format('%.3f', wait)
        """;

    // KEYS: theoretical arrival time. ARGV: ms the units are worth.
    private const string ChargeScript = Now + """
        local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
        if tat < now then tat = now end
        tat = tat + tonumber(ARGV[1])
        redis.call('SET', KEYS[1], string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 1000)
        return 1
        """;

    // KEYS: the vendor's pause. ARGV: pause ms. A longer pause already set stays.
    private const string PauseScript = Now + """
        local untilMs = now + tonumber(ARGV[1])
        local current = tonumber(redis.call('GET', KEYS[1]) or '0')
        if current < untilMs then
          redis.call('SET', KEYS[1], string.format('%.3f', untilMs), 'PX', math.ceil(tonumber(ARGV[1])))
        end
        return 1
        """;

    // KEYS: the vendor's pause. Returns the ms left.
    private const string PausedForScript = Now + """
        local untilMs = tonumber(redis.call('GET', KEYS[1]) or '0')
        if untilMs <= now then return '0' end
        return string.format('%.3f', untilMs - now)
        """;

    private readonly string _prefix = connection.KeyPrefix + "resilience:";
    private long _skipUntilTicks;
    private int _unreachable;

    public async Task<SharedCircuit> EnterCircuitAsync(string circuit, PluginResilienceOptions rules, CancellationToken cancellationToken)
    {
        var lease = rules.AttemptTimeout + TimeSpan.FromSeconds(5);
        var result = await EvaluateAsync(EnterScript, [CircuitKey(circuit), CircuitKey(circuit) + ":trial"], [(long)lease.TotalMilliseconds], cancellationToken);
        return ToCircuit(result);
    }

    public async Task<SharedCircuit> RecordCircuitAsync(string circuit, bool success, PluginResilienceOptions rules, CancellationToken cancellationToken)
    {
        var breakMs = (long)rules.BreakDuration.TotalMilliseconds;
        var ttl = Math.Max(breakMs * 2, (long)TimeSpan.FromDays(1).TotalMilliseconds);
        var result = await EvaluateAsync(RecordScript, [CircuitKey(circuit), CircuitKey(circuit) + ":trial"],
            [success ? 1 : 0, rules.CircuitBreakerThreshold, breakMs, rules.SuccessesToClose, ttl], cancellationToken);
        return ToCircuit(result);
    }

    public async Task<TimeSpan> ReserveAsync(string budget, double perSecond, int burst, CancellationToken cancellationToken)
    {
        var interval = 1000.0 / Math.Max(perSecond, 0.001);
        var tolerance = interval * Math.Max(burst - 1, 0);
        var result = await EvaluateAsync(ReserveScript, [_prefix + "rate:" + budget, PauseKey(budget)], [interval, tolerance], cancellationToken);
        return Milliseconds(result);
    }

    public async Task<TimeSpan> SpendableInAsync(string budget, double perMinute, CancellationToken cancellationToken) =>
        Milliseconds(await EvaluateAsync(SpendableScript, [_prefix + "spend:" + budget], [TimeSpan.FromMinutes(1).TotalMilliseconds], cancellationToken));

    public async Task ChargeAsync(string budget, long units, double perMinute, CancellationToken cancellationToken) =>
        await EvaluateAsync(ChargeScript, [_prefix + "spend:" + budget], [units * TimeSpan.FromMinutes(1).TotalMilliseconds / Math.Max(perMinute, 1)], cancellationToken);

    public async Task<TimeSpan> PausedForAsync(string vendor, CancellationToken cancellationToken) =>
        Milliseconds(await EvaluateAsync(PausedForScript, [PauseKey(vendor)], [], cancellationToken));

    public async Task PauseAsync(string vendor, TimeSpan duration, CancellationToken cancellationToken) =>
        await EvaluateAsync(PauseScript, [PauseKey(vendor)], [Math.Max(1, duration.TotalMilliseconds)], cancellationToken);

    private string CircuitKey(string circuit) => _prefix + "circuit:" + circuit;

    private string PauseKey(string vendor) => _prefix + "pause:" + vendor;

    private async Task<RedisResult> EvaluateAsync(string script, RedisKey[] keys, RedisValue[] values, CancellationToken cancellationToken)
    {
        if (timeProvider.GetUtcNow().UtcTicks < Interlocked.Read(ref _skipUntilTicks))
        {
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, $"REDIS_URL: {connection.Endpoint} was unreachable moments ago; deciding locally");
        }

        try
        {
            var redis = await connection.GetAsync().WaitAsync(CallTimeout, timeProvider, cancellationToken);
            var result = await redis.GetDatabase().ScriptEvaluateAsync(script, keys, values).WaitAsync(CallTimeout, timeProvider, cancellationToken);
            if (Interlocked.Exchange(ref _unreachable, 0) == 1)
            {
                LogReachable(logger, connection.Endpoint);
            }

            return result;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            Interlocked.Exchange(ref _skipUntilTicks, (timeProvider.GetUtcNow() + RetryInterval).UtcTicks);
            if (Interlocked.Exchange(ref _unreachable, 1) == 0)
            {
                LogUnreachable(logger, connection.Endpoint, ex.GetType().Name);
            }

            throw;
        }
    }

    private static SharedCircuit ToCircuit(RedisResult result)
    {
        var values = (RedisResult[])result!;
        return new SharedCircuit((PluginCircuitState)(int)values[0], (int)values[1] == 1,
            TimeSpan.FromMilliseconds((long)values[2]), TimeSpan.FromMilliseconds((long)values[3]));
    }

    private static TimeSpan Milliseconds(RedisResult result) =>
        TimeSpan.FromMilliseconds(Math.Max(0, double.Parse((string)result!, CultureInfo.InvariantCulture)));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis at {Endpoint} is unreachable ({Error}): circuits, vendor rate limits and pauses are per process until it returns")]
    private static partial void LogUnreachable(ILogger logger, string endpoint, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis at {Endpoint} is reachable again: circuits, vendor rate limits and pauses are the fleet's")]
    private static partial void LogReachable(ILogger logger, string endpoint);
}
