using System.Globalization;
using DevOrchestrator.Hosting;
using Npgsql;

namespace DevOrchestrator.Bench;

/// <summary>
/// What PostgreSQL does for one database during a run, seen from the server: every 500 ms, its sessions by state,
/// wait event and the start of the statement (<c>pg_stat_activity</c>); and the CPU its backends used (their
/// <c>/proc/PID/stat</c>, when PostgreSQL runs on this machine).
/// </summary>
internal sealed class PostgresActivity : IAsyncDisposable
{
    private readonly string _adminUrl;
    private readonly string _database;
    private readonly Dictionary<string, long> _counts = [];
    private readonly CancellationTokenSource _stop = new();
    private Dictionary<int, double> _cpuBefore = [];
    private Task? _loop;

    public PostgresActivity(string adminUrl, string database)
    {
        _adminUrl = adminUrl;
        _database = database;
    }

    public int Samples { get; private set; }

    /// <summary>CPU seconds of the database's backends between <see cref="StartAsync"/> and <see cref="StopAsync"/> (null when not on this machine).</summary>
    public double? BackendCpuSeconds { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _cpuBefore = Cpu(await BackendPidsAsync(cancellationToken));
        _loop = Task.Run(async () =>
        {
            await using var connection = new NpgsqlConnection(DatabaseUrls.ToNpgsqlConnectionString(_adminUrl));
            await connection.OpenAsync(_stop.Token);
            while (!_stop.IsCancellationRequested)
            {
                await using (var command = new NpgsqlCommand(
                    """
                    SELECT state || coalesce(' / ' || wait_event_type || ':' || wait_event, '') || CASE WHEN state = 'idle' THEN '' ELSE ' / ' || left(regexp_replace(query, '\s+', ' ', 'g'), 60) END, count(*)
                    FROM pg_stat_activity WHERE datname = @db AND pid <> pg_backend_pid() GROUP BY 1
                    """, connection))
                {
                    command.Parameters.AddWithValue("db", _database);
                    await using var reader = await command.ExecuteReaderAsync(_stop.Token);
                    while (await reader.ReadAsync(_stop.Token))
                    {
                        var key = reader.IsDBNull(0) ? "?" : reader.GetString(0);
                        _counts[key] = _counts.GetValueOrDefault(key) + reader.GetInt64(1);
                    }
                }

                Samples++;
                await Task.Delay(500, _stop.Token);
            }
        }, CancellationToken.None);
    }

    public async Task StopAsync()
    {
        var after = Cpu(await BackendPidsAsync(CancellationToken.None));
        if (after.Count > 0 || _cpuBefore.Count > 0)
        {
            BackendCpuSeconds = after.Sum(p => p.Value - _cpuBefore.GetValueOrDefault(p.Key));
        }

        await _stop.CancelAsync();
        if (_loop is not null)
        {
            try
            {
                await _loop;
            }
            catch (Exception ex) when (ex is OperationCanceledException or NpgsqlException)
            {
                // Stopped mid-query.
            }
        }
    }

    /// <summary>Average number of sessions in each state over the samples, the most frequent first.</summary>
    public IReadOnlyList<(string State, double Average)> Top(int count) =>
        [.. _counts.OrderByDescending(p => p.Value).Take(count).Select(p => (p.Key, p.Value / (double)Math.Max(1, Samples)))];

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        _stop.Dispose();
    }

    private async Task<List<int>> BackendPidsAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(DatabaseUrls.ToNpgsqlConnectionString(_adminUrl));
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT pid FROM pg_stat_activity WHERE datname = @db", connection);
        command.Parameters.AddWithValue("db", _database);
        var pids = new List<int>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            pids.Add(reader.GetInt32(0));
        }

        return pids;
    }

    private static Dictionary<int, double> Cpu(List<int> pids)
    {
        var cpu = new Dictionary<int, double>();
        foreach (var pid in pids)
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                cpu[pid] = (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                // Not on this machine, or the backend has gone.
            }
        }

        return cpu;
    }
}
